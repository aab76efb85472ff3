-- The lease moves out of next_attempt_at into its own, unindexed column, so that claiming a delivery
-- (status SENDING + lease) touches no indexed column and its update can be HOT.
-- AlterTable
ALTER TABLE "deliveries" ADD COLUMN     "lease_expires_at" TIMESTAMPTZ(3);

-- Deliveries being sent now: their next_attempt_at held the lease end, which is now the lease. Left
-- in next_attempt_at as well, they become claimable again exactly when the lease ends, as before.
UPDATE "deliveries" SET "lease_expires_at" = "next_attempt_at" WHERE "status" = 'SENDING';

-- The due index holds only rows with work left; final rows (NULL) leave it.
DROP INDEX "deliveries_next_attempt_at_idx";
CREATE INDEX "deliveries_next_attempt_at_idx" ON "deliveries"("next_attempt_at") WHERE next_attempt_at IS NOT NULL;

-- Room on each page for the claim's new row version to stay beside the old one (a HOT update needs
-- free space on the same page; a claim takes neighbouring rows in one statement, so their old versions
-- cannot be pruned meanwhile). Measured on a 3,000-delivery backlog: 92% of claims HOT at 50, 56% at
-- 70. Applies to pages written from now on.
ALTER TABLE "deliveries" SET (fillfactor = 50);
