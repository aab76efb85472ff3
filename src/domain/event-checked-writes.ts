/**
 * publishEvent's write when its targets came from the publish cache (event-targets.ts cachedTargets), with
 * concurrent publishes of one (tenant, type) coalesced into one statement: while a statement of that cache
 * entry is running, the publishes that arrive wait and then go together in the next one (at most
 * COALESCE_MAX). A publish alone is written at once; under load, many share one statement and one
 * commit (each still answers after the commit that made its own event durable). Each event is its own
 * outcome: written, a taken idempotency key (null), or stale targets ("stale"); and a statement that fails
 * as a whole is retried event by event, so that no publish fails for another's sake.
 */
import type { App } from "./app.js";
import type { CachedTargets } from "./event-targets.js";
import { fanOut, type InsertEventInput, type WrittenRow } from "./event-writes.js";

/** Most publishes one coalesced statement writes (publishEvents' limit, for the same reasons). */
const COALESCE_MAX = 100;

// The events of one (tenant, type) and their deliveries, behind a check, in the same statement and
// snapshot, that the cache's answer still holds: the event type the publish names (nearest tenant first, as
// PUBLISH_TARGETS_SQL reads it) is the cached one, not deprecated, with the same schema, and the matching
// endpoints are exactly the cached ones. Otherwise nothing is written and `fresh` is false. An event whose
// idempotency key is taken (before, or by an earlier event of the same statement) is skipped alone.
const INSERT_CHECKED_EVENTS_SQL = `
WITH et AS (
  SELECT id, deprecated, schema FROM event_types WHERE name = $3 AND tenant_id = ANY($10::text[])
   ORDER BY array_position($10::text[], tenant_id) DESC LIMIT 1
), targets AS (
  SELECT coalesce(array_agg(e.id ORDER BY e.id), '{}'::text[]) AS ids FROM endpoints e
   WHERE e.status = 'ENABLED' AND e.deleted_at IS NULL AND e.events && $11::text[]
     AND (e.tenant_id = $2 OR (e.include_child_tenants AND e.tenant_id = ANY($12::text[])))
), fresh AS (
  SELECT 1 FROM et, targets
   WHERE et.id = $13 AND NOT et.deprecated AND et.schema IS NOT DISTINCT FROM $14::jsonb
     AND targets.ids = $8::text[]
), ev AS (
  INSERT INTO events (id, tenant_id, type, payload, idempotency_key, test, created_at)
  SELECT x.id, $2, $3, x.payload::json, x.idempotency_key, $6, now()
    FROM fresh, unnest($1::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(id, payload, idempotency_key, n)
   ORDER BY x.n
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING id, created_at
), d AS (
  INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, status, attempt_count,
                          next_attempt_at, trigger, created_at, updated_at)
  SELECT x.id, ev.id, e.id, e.tenant_id, $3, 'PENDING', 0, now(), $9::attempt_trigger, now(), now()
    FROM unnest($7::text[], $15::text[], $16::text[]) AS x(id, event_id, endpoint_id)
    JOIN ev ON ev.id = x.event_id
    JOIN endpoints e ON e.id = x.endpoint_id
  RETURNING id, event_id, endpoint_id, tenant_id
)
SELECT EXISTS (SELECT 1 FROM fresh) AS fresh, w.id, w.created_at, coalesce(w.n, 0) AS delivery_count, w.ids,
       w.endpoint_ids, w.paths
  FROM (SELECT 1) one
  LEFT JOIN (
    SELECT ev.id, ev.created_at, c.n, c.ids, c.endpoint_ids, c.paths
      FROM ev LEFT JOIN (
        SELECT d.event_id, count(*)::int AS n, array_agg(d.id) AS ids, array_agg(d.endpoint_id) AS endpoint_ids,
               array_agg(t.path) AS paths
          FROM d JOIN tenants t ON t.id = d.tenant_id
         GROUP BY d.event_id) c ON c.event_id = ev.id) w ON true`;

type CheckedInput = InsertEventInput & Required<Pick<InsertEventInput, "check">>;
type Outcome = WrittenRow | null | "stale";

interface Waiting {
  input: CheckedInput;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

/** Per cache entry (one tenant and type): whether a statement is running, and who waits for the next. */
interface Group {
  running: boolean;
  waiting: Waiting[];
}
const groups = new WeakMap<CachedTargets, Group>();

/**
 * Writes an event whose targets came from the publish cache (see above): its row; null when its
 * idempotency key is taken in the tenant; "stale" when the cached targets no longer hold (nothing was
 * written either way).
 */
export function writeCheckedEvent(app: App, input: CheckedInput): Promise<Outcome> {
  let group = groups.get(input.check.cached);
  if (!group) {
    group = { running: false, waiting: [] };
    groups.set(input.check.cached, group);
  }
  const g = group;
  return new Promise<Outcome>((resolve, reject) => {
    g.waiting.push({ input, resolve, reject });
    if (!g.running) void drain(app, g);
  });
}

async function drain(app: App, group: Group): Promise<void> {
  group.running = true;
  try {
    while (group.waiting.length > 0) await writeTogether(app, group.waiting.splice(0, COALESCE_MAX));
  } finally {
    group.running = false;
  }
}

/** Settles every waiting publish; never throws. */
async function writeTogether(app: App, batch: Waiting[]): Promise<void> {
  let outcomes: Outcome[] | undefined;
  try {
    outcomes = await insertChecked(
      app,
      batch.map((w) => w.input),
    );
  } catch (err) {
    if (batch.length === 1) {
      batch[0]!.reject(err);
      return;
    }
  }
  if (outcomes) {
    for (const [i, w] of batch.entries()) w.resolve(outcomes[i]!);
    return;
  }
  // The statement failed as a whole: each event again on its own.
  for (const w of batch) {
    try {
      w.resolve((await insertChecked(app, [w.input]))[0]!);
    } catch (err) {
      w.reject(err);
    }
  }
}

/** Runs INSERT_CHECKED_EVENTS_SQL for inputs of one cache entry: one outcome per input, in order. */
async function insertChecked(app: App, inputs: readonly CheckedInput[]): Promise<Outcome[]> {
  const first = inputs[0]!;
  const { cached, scope } = first.check;
  const { eventIds, deliveryIds, deliveryEvents, deliveryEndpoints } = fanOut(inputs);
  const rows = await app.db.query<WrittenRow & { fresh: boolean }>(
    INSERT_CHECKED_EVENTS_SQL,
    [
      eventIds,
      first.tenantId,
      first.type,
      inputs.map((x) => x.payloadJson),
      inputs.map((x) => x.idempotencyKey),
      first.test,
      deliveryIds,
      cached.endpointIds,
      first.trigger,
      scope.chain,
      scope.candidates,
      scope.ancestors,
      cached.eventTypeId,
      cached.schemaJson,
      deliveryEvents,
      deliveryEndpoints,
    ],
    "hookgate_insert_checked_events",
  );
  if (!rows[0]?.fresh) return inputs.map(() => "stale");
  const byId = new Map(rows.filter((r) => r.id).map((r) => [r.id, r]));
  return eventIds.map((id) => byId.get(id) ?? null);
}
