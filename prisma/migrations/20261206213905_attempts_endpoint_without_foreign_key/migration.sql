-- attempts.endpoint_id is always its delivery's endpoint, whose key the delivery FK already checks. The
-- endpoint FK made every attempt insert lock the endpoint row FOR KEY SHARE (a MultiXact whenever two
-- completions of one endpoint overlap) and cost ~10 µs per attempt. Hard deletes still cascade through
-- deliveries.
-- DropForeignKey
ALTER TABLE "attempts" DROP CONSTRAINT "attempts_endpoint_id_fkey";

