import type { Database } from "../db/database.js";

/**
 * The queue's SQL. The deliveries table IS the queue (see the Delivery model in prisma/schema.prisma):
 *
 *   next_attempt_at is set exactly while a delivery has work to do (PENDING/RETRYING: when it is due;
 *   SENDING: when the attempt being sent was due) and NULL once it is terminal. lease_expires_at is set
 *   while SENDING: a delivery is claimable when it is due and holds no live lease. An expired lease is
 *   therefore simply due again: a crashed dispatcher's work is re-claimed by anyone, with no sweeper.
 *
 * Every statement here keeps that invariant; a statement that left a non-terminal delivery with a NULL
 * next_attempt_at would lose it for good (nothing would ever claim it again). Each statement is a single
 * SQL statement (data-modifying CTEs), so it is atomic without an explicit transaction, which matters on
 * PGlite where a hand-written BEGIN on the shared connection would swallow other callers' queries.
 *
 * HOT: the claim sets status, lease_expires_at, locked_by and updated_at, none of them indexed (nor in an
 * index's predicate: a partial index's predicate columns count as indexed for HOT), so with room on the
 * page (the table's fillfactor) the claim's update is heap-only: no index entry is written. Completing
 * to a final state must take the row out of the due index (partial: next_attempt_at IS NOT NULL), so it
 * cannot be HOT; a release with no delay keeps next_attempt_at (the row keeps its place in due order)
 * and is HOT too.
 */

export interface ClaimedRow {
  id: string;
  prev_status: "PENDING" | "RETRYING" | "SENDING";
  event_id: string;
  endpoint_id: string;
  tenant_id: string;
  event_type: string;
  attempt_count: number;
  target_url: string | null;
  trigger: "SCHEDULED" | "REPLAY" | "TEST";
  url: string;
  headers: unknown;
  endpoint_status: "ENABLED" | "DISABLED";
  deleted_at: Date | null;
  rate_limit_per_second: number | null;
  tenant_path: string;
  secrets: string[] | null;
  /** The tenant's delivery profile as inherited (domain/delivery-profile.ts), null = the default. */
  signature_header: string | null;
  user_agent_product: string | null;
  standard_webhooks_headers: boolean | null;
}

export interface EventRow {
  id: string;
  type: string;
  /** Parsed from events.payload (json: key order as published). */
  payload: unknown;
  test: boolean;
  created_at: Date;
}

// The claim takes due rows in due order, skipping rows whose lease is live (in flight: they keep their
// place at the head of the due index, so a claim passes over at most the in-flight rows) and rows other
// dispatchers hold locked, and takes a lease on them in the same statement. It also returns what sending needs from the endpoint (fresh: a disabled
// endpoint or a rotated secret is seen at once), looked up once per endpoint of the batch (`ep`), not per
// row, and the delivery profile of each tenant of the batch (`tp`, the nearest ancestor's setting wins),
// read fresh by every claim so that a changed profile applies from the next delivery. It does not NOTIFY: PostgreSQL commits notifying transactions one at a time, each with its own WAL
// flush, so the dispatcher sends the SENDING signals after the commit instead (Database.signal).
const CLAIM_SQL = `
WITH c AS (
  SELECT id, status FROM deliveries
  WHERE next_attempt_at <= now() AND (lease_expires_at IS NULL OR lease_expires_at <= now())
    AND NOT (endpoint_id = ANY($2::text[]))
  ORDER BY next_attempt_at
  LIMIT %LIMIT%
  FOR UPDATE SKIP LOCKED
), u AS (
  UPDATE deliveries d
  SET status = 'SENDING', lease_expires_at = now() + $3::bigint * interval '1 millisecond',
      locked_by = $1, updated_at = now()
  FROM c WHERE d.id = c.id
  RETURNING d.id, c.status AS prev_status, d.event_id, d.endpoint_id, d.tenant_id, d.event_type,
            d.attempt_count, d.target_url, d.trigger
), ep AS MATERIALIZED (
  SELECT e.id, e.url, e.headers::text AS headers, e.status::text AS endpoint_status, e.deleted_at,
         e.rate_limit_per_second,
         ARRAY(SELECT s.ciphertext FROM endpoint_secrets s
               WHERE s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > now())
               ORDER BY s.created_at DESC, s.id DESC) AS secrets
  FROM endpoints e
  WHERE e.id IN (SELECT endpoint_id FROM u)
), tp AS MATERIALIZED (
  SELECT t.id, t.path,
         (SELECT a.signature_header FROM tenants a
          WHERE a.id = ANY(string_to_array(btrim(t.path, '/'), '/')) AND a.signature_header IS NOT NULL
          ORDER BY length(a.path) DESC LIMIT 1) AS signature_header,
         (SELECT a.user_agent_product FROM tenants a
          WHERE a.id = ANY(string_to_array(btrim(t.path, '/'), '/')) AND a.user_agent_product IS NOT NULL
          ORDER BY length(a.path) DESC LIMIT 1) AS user_agent_product,
         (SELECT a.standard_webhooks_headers FROM tenants a
          WHERE a.id = ANY(string_to_array(btrim(t.path, '/'), '/')) AND a.standard_webhooks_headers IS NOT NULL
          ORDER BY length(a.path) DESC LIMIT 1) AS standard_webhooks_headers
  FROM tenants t
  WHERE t.id IN (SELECT tenant_id FROM u)
)
SELECT u.id, u.prev_status::text AS prev_status, u.event_id, u.endpoint_id, u.tenant_id, u.event_type,
       u.attempt_count, u.target_url, u.trigger::text AS trigger,
       ep.url, ep.headers, ep.endpoint_status, ep.deleted_at, ep.rate_limit_per_second,
       t.path AS tenant_path, ep.secrets,
       t.signature_header, t.user_agent_product, t.standard_webhooks_headers
FROM u
JOIN ep ON ep.id = u.endpoint_id
JOIN tp t ON t.id = u.tenant_id`;

/**
 * How many rows to claim for a budget of free slots. On PostgreSQL the limit is a constant in the
 * statement's text, one prepared statement per distinct limit (with `LIMIT $n` PostgreSQL cannot cost
 * a generic plan and plans every claim anew, ~0.5 ms each), so the budget is rounded down to one of a
 * dozen values: the batch size, a multiple of an eighth of it, or a power of two below that eighth.
 * Rounding loses little: the rest of the budget is claimed with the next statement. Coarser steps
 * (powers of two alone) meant many more claims, which PGlite, where every statement is planned on the
 * one thread, paid for dearly; `exact` (PGlite: no plan cache to spare) takes the budget as it is.
 */
export function claimLimit(budget: number, batchSize: number, exact = false): number {
  if (budget >= batchSize) return batchSize;
  if (exact) return Math.max(1, budget);
  const step = Math.ceil(batchSize / 8);
  if (budget >= step) return budget - (budget % step);
  let limit = 1;
  while (limit * 2 <= budget) limit *= 2;
  return limit;
}

export function claimDue(
  db: Database,
  lock: string,
  limit: number,
  leaseMs: number,
  excludeEndpoints: string[],
): Promise<ClaimedRow[]> {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`claim limit must be >= 1, got ${limit}`);
  return db.query<ClaimedRow>(
    CLAIM_SQL.replace("%LIMIT%", String(limit)),
    [lock, excludeEndpoints, leaseMs],
    db.kind === "postgres" ? `hookgate_claim_due_${limit}` : undefined,
  );
}

export function loadEvents(db: Database, ids: string[]): Promise<EventRow[]> {
  return db.query<EventRow>(
    "SELECT id, type, payload, test, created_at FROM events WHERE id = ANY($1::text[])",
    [ids],
    "hookgate_load_events",
  );
}

/** One finished (or given back) claim, as the completion statement takes it. */
export interface Completion {
  id: string;
  /** The claim token the delivery was claimed with: the fence. */
  lock: string;
  status: "SUCCEEDED" | "RETRYING" | "FAILED" | "CANCELLED" | "PENDING";
  /** Milliseconds from now until the next attempt; null for a terminal status. */
  delay_ms: number | null;
  /** True when an HTTP attempt was made: counts it, resets trigger and target_url. */
  attempted: boolean;
  attempt_id: string | null;
  attempt_number: number | null;
  url: string | null;
  att_status: "SUCCEEDED" | "FAILED" | null;
  trigger: string | null;
  req_headers: Record<string, string> | null;
  resp_code: number | null;
  resp_body: string | null;
  duration_ms: number | null;
  error: string | null;
  endpoint_id: string;
}

export type Health = "ok" | "fail" | "gone";

/**
 * Completes a batch in one statement: the fenced delivery updates, the attempt rows and endpoint health
 * (failing_since, auto-disable). It returns the deliveries whose fenced update took effect; their status
 * signals are the caller's to send once this has committed (see CLAIM_SQL on why not NOTIFY here).
 *
 * FENCE: a delivery is updated only while locked_by still holds the token it was claimed with. If its
 * lease expired and another dispatcher claimed it, that dispatcher's state wins and this completion
 * changes nothing on the delivery. The attempt row is written anyway: the request really went out and
 * the receiver really answered, so the history must show it (its number may then repeat the number of
 * the other dispatcher's attempt). Endpoint health is likewise fed by every real answer.
 *
 * IDEMPOTENT: a write may be repeated (retried after a lost reply, or after a database outage) and the
 * repetition is harmless: the attempt insert skips an id already recorded, the fenced update no longer
 * matches (the lock was cleared), and such a delivery still counts as updated (see `again`).
 *
 * The attempt row does not copy the request body: it is the event's envelope (domain/envelope.ts), which
 * the API rebuilds from the event (request_body NULL), so an attempt costs no copy of the payload.
 *
 * Health writes are skipped when they would change nothing, so steady successful traffic never writes
 * the endpoint row (it would otherwise be the hottest row in the database).
 *
 * PLAN: the batch's deliveries are found by key (`id = ANY(ARRAY(...))`, index probes), read once
 * (`cur`) for the attempt insert and for `again`. Joined against the batch as a set, PostgreSQL priced
 * a scan of the whole table below a hundred probes while it held some thousands of rows, and scanned it
 * three times per batch (test/db/completion-plan.test.ts counts the scans). The batch arrives as json,
 * not jsonb: json_to_recordset reads the text once, without building a jsonb value first.
 */
const COMPLETE_SQL = `
WITH x AS (
  SELECT * FROM json_to_recordset($1::json) AS x(
    id text, lock text, status text, delay_ms bigint, attempted boolean,
    attempt_id text, attempt_number int, url text, att_status text, trigger text,
    req_headers jsonb, resp_code int, resp_body text, duration_ms int, error text,
    endpoint_id text)
), cur AS MATERIALIZED (
  SELECT id, locked_by FROM deliveries WHERE id = ANY(ARRAY(SELECT id FROM x))
), upd AS (
  UPDATE deliveries d SET
    status = x.status::delivery_status,
    next_attempt_at = CASE WHEN x.delay_ms IS NULL THEN NULL
                           WHEN x.delay_ms = 0 AND d.next_attempt_at <= now() THEN d.next_attempt_at
                           ELSE now() + x.delay_ms * interval '1 millisecond' END,
    lease_expires_at = NULL,
    locked_by = NULL,
    attempt_count = d.attempt_count + CASE WHEN x.attempted THEN 1 ELSE 0 END,
    last_attempt_at = CASE WHEN x.attempted THEN now() ELSE d.last_attempt_at END,
    trigger = CASE WHEN x.attempted THEN 'SCHEDULED'::attempt_trigger ELSE d.trigger END,
    target_url = CASE WHEN x.attempted THEN NULL ELSE d.target_url END,
    updated_at = now()
  FROM x WHERE d.id = ANY(ARRAY(SELECT id FROM x)) AND d.id = x.id AND d.locked_by = x.lock
  RETURNING d.id
), att AS (
  INSERT INTO attempts (id, delivery_id, endpoint_id, attempt_number, url, status, trigger,
                        request_headers, request_body, response_code, response_body, duration_ms,
                        error_message, created_at)
  SELECT x.attempt_id, x.id, x.endpoint_id, x.attempt_number, x.url, x.att_status::attempt_status,
         x.trigger::attempt_trigger, x.req_headers, NULL, x.resp_code, x.resp_body, x.duration_ms,
         x.error, now()
  FROM x JOIN cur ON cur.id = x.id
  WHERE x.attempt_id IS NOT NULL
  ON CONFLICT (id) DO NOTHING
  RETURNING 1
), again AS (
  -- A retry of a write that committed although its caller never heard so (the connection died after
  -- COMMIT): the attempt row is there already (this statement's snapshot predates its own insert), so
  -- the delivery was updated by that write. It counts as updated, so its signal still goes out. $4 holds
  -- the attempt ids of a write being tried again, and is empty on the first try (nothing to look up).
  SELECT x.id FROM x JOIN cur ON cur.id = x.id
  WHERE cur.locked_by IS NULL AND x.attempt_id IN (SELECT a.id FROM attempts a WHERE a.id = ANY($4::text[]))
), h AS (
  SELECT e.id, h.health,
         CASE WHEN e.status <> 'ENABLED' THEN NULL
              WHEN h.health = 'gone' THEN 'GONE'
              WHEN h.health = 'fail' AND e.failing_since <= now() - $2::bigint * interval '1 millisecond'
                THEN 'FAILING'
         END AS disable
  FROM jsonb_to_recordset($3::jsonb) AS h(endpoint_id text, health text)
  JOIN endpoints e ON e.id = h.endpoint_id
), ep AS (
  UPDATE endpoints e SET
    failing_since = CASE WHEN h.health = 'ok' THEN NULL ELSE COALESCE(e.failing_since, now()) END,
    status = CASE WHEN h.disable IS NOT NULL THEN 'DISABLED'::endpoint_status ELSE e.status END,
    disabled_reason = COALESCE(h.disable, e.disabled_reason),
    updated_at = now()
  FROM h
  WHERE e.id = h.id AND (h.disable IS NOT NULL OR (h.health = 'ok') <> (e.failing_since IS NULL))
  RETURNING e.id, h.disable
)
SELECT r.id,
       (SELECT count(*) FROM att)::int AS attempts,
       (SELECT json_agg(json_build_object('id', ep.id, 'disable', ep.disable)) FROM ep WHERE ep.disable IS NOT NULL) AS disabled
FROM (SELECT id FROM upd UNION SELECT id FROM again) AS r`;

export interface CompleteResult {
  /** Deliveries whose fenced update took effect. */
  updated: Set<string>;
  /** Endpoints this batch disabled, with the reason. */
  disabled: { id: string; disable: string }[];
}

export async function completeBatch(
  db: Database,
  completions: Completion[],
  health: Map<string, Health>,
  disableAfterMs: number,
  opts: { retry?: boolean } = {},
): Promise<CompleteResult> {
  const healthRows = [...health].map(([endpoint_id, h]) => ({ endpoint_id, health: h }));
  // Only a write sent before may have committed unheard: only then are its attempts looked up (`again`).
  const sentBefore = opts.retry ? completions.flatMap((c) => (c.attempt_id ? [c.attempt_id] : [])) : [];
  const rows = await db.query<{ id: string; disabled: { id: string; disable: string }[] | null }>(
    COMPLETE_SQL,
    [JSON.stringify(completions), disableAfterMs, JSON.stringify(healthRows), sentBefore],
    "hookgate_complete_batch",
  );
  // `disabled` is the same scalar subquery on every row; an empty result means no delivery was updated,
  // but endpoints may still have been (late attempts feed health too), which nobody needs to hear about.
  return { updated: new Set(rows.map((r) => r.id)), disabled: rows[0]?.disabled ?? [] };
}
