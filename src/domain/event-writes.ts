/**
 * The write side of publishing: an event (or a batch of them) and one delivery per target endpoint, in one
 * statement, and the signals that announce them after the commit.
 */
import type { Event } from "../generated/prisma/client.js";
import type { App } from "./app.js";
import type { CachedTargets, targetsScope } from "./event-targets.js";
import { newId } from "./ids.js";
import { DELIVERY_UPDATES_CHANNEL, encodeDeliveryUpdate, WAKE_CHANNEL } from "./signals.js";

export interface InsertEventInput {
  tenantId: string;
  type: string;
  /** Already validated JSON text. */
  payloadJson: string;
  idempotencyKey: string | null;
  test: boolean;
  trigger: "SCHEDULED" | "TEST";
  endpointIds: string[];
  /** The targets came from the publish cache: write only if they still hold (writeCheckedEvent). */
  check?: { cached: CachedTargets; scope: ReturnType<typeof targetsScope> };
}

// One statement: the event and its deliveries. It returns what the signals need (the PENDING update per
// delivery and the dispatcher wake-up), which are sent after commit (Database.signal: NOTIFY inside the
// statement would make every publish commit alone, see SignalSender).
// Deliveries join endpoints so that an endpoint removed since publishTargets() read it is skipped
// rather than failing the foreign key; the delivery's tenant is the ENDPOINT's (who sees it), which for
// includeChildTenants is an ancestor of the event's tenant.
const INSERT_EVENT_SQL = `
WITH ev AS (
  INSERT INTO events (id, tenant_id, type, payload, idempotency_key, test, created_at)
  VALUES ($1, $2, $3, $4::json, $5, $6, now())
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING id, created_at
), d AS (
  INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, status, attempt_count,
                          next_attempt_at, trigger, created_at, updated_at)
  SELECT x.id, ev.id, e.id, e.tenant_id, $3, 'PENDING', 0, now(), $9::attempt_trigger, now(), now()
  FROM ev, unnest($7::text[], $8::text[]) AS x(id, endpoint_id)
  JOIN endpoints e ON e.id = x.endpoint_id
  RETURNING id, endpoint_id, tenant_id
)
SELECT ev.id, ev.created_at, c.n AS delivery_count, c.ids, c.endpoint_ids, c.paths
FROM ev, (SELECT count(*)::int AS n, array_agg(d.id) AS ids, array_agg(d.endpoint_id) AS endpoint_ids,
                 array_agg(t.path) AS paths
            FROM d JOIN tenants t ON t.id = d.tenant_id) c`;

export type WrittenRow = {
  id: string;
  created_at: Date;
  delivery_count: number;
  ids: string[] | null;
  endpoint_ids: string[] | null;
  paths: string[] | null;
};

/** Runs INSERT_EVENT_SQL; null when the idempotency key already exists in the tenant (nothing written). */
export async function writeEvent(
  query: (sql: string, params: unknown[], prepareAs?: string) => Promise<unknown[]>,
  input: InsertEventInput,
  prepareAs?: string,
): Promise<WrittenRow | null> {
  const rows = (await query(
    INSERT_EVENT_SQL,
    [
      newId("event"),
      input.tenantId,
      input.type,
      input.payloadJson,
      input.idempotencyKey,
      input.test,
      input.endpointIds.map(() => newId("delivery")),
      input.endpointIds,
      input.trigger,
    ],
    prepareAs,
  )) as WrittenRow[];
  return rows[0] ?? null;
}

// publishEvents: every event of the batch and all their deliveries in ONE statement (one parse, one plan,
// one commit; it is atomic without a transaction around it). Deliveries join the events written, and the
// endpoints as INSERT_EVENT_SQL does. An idempotency key taken meanwhile by a concurrent publish fails the
// whole statement with a unique violation (no ON CONFLICT: a batch is all or nothing); writeEvents reports
// that as null and the caller prepares again, finding the winner's event.
const INSERT_EVENTS_SQL = `
WITH ev AS (
  INSERT INTO events (id, tenant_id, type, payload, idempotency_key, test, created_at)
  SELECT x.id, x.tenant_id, x.type, x.payload::json, x.idempotency_key, x.test, now()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[])
         AS x(id, tenant_id, type, payload, idempotency_key, test)
  RETURNING id, type, created_at
), d AS (
  INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, status, attempt_count,
                          next_attempt_at, trigger, created_at, updated_at)
  SELECT x.id, ev.id, e.id, e.tenant_id, ev.type, 'PENDING', 0, now(), x.trigger::attempt_trigger, now(), now()
    FROM unnest($7::text[], $8::text[], $9::text[], $10::text[]) AS x(id, event_id, endpoint_id, trigger)
    JOIN ev ON ev.id = x.event_id
    JOIN endpoints e ON e.id = x.endpoint_id
  RETURNING id, event_id, endpoint_id, tenant_id
)
SELECT ev.id, ev.created_at, coalesce(c.n, 0) AS delivery_count, c.ids, c.endpoint_ids, c.paths
  FROM ev LEFT JOIN (
    SELECT d.event_id, count(*)::int AS n, array_agg(d.id) AS ids, array_agg(d.endpoint_id) AS endpoint_ids,
           array_agg(t.path) AS paths
      FROM d JOIN tenants t ON t.id = d.tenant_id
     GROUP BY d.event_id) c ON c.event_id = ev.id`;

const IDEMPOTENCY_INDEX = "events_tenant_id_idempotency_key_key";

/**
 * New ids for a batch of events and their deliveries, as the batch statements take them: one event id per
 * input, and per delivery (each input's endpoints, in order) its id, event, endpoint and trigger.
 */
export function fanOut(inputs: readonly Pick<InsertEventInput, "endpointIds" | "trigger">[]) {
  const eventIds = inputs.map(() => newId("event"));
  const deliveryIds: string[] = [];
  const deliveryEvents: string[] = [];
  const deliveryEndpoints: string[] = [];
  const deliveryTriggers: string[] = [];
  inputs.forEach((input, i) => {
    for (const endpointId of input.endpointIds) {
      deliveryIds.push(newId("delivery"));
      deliveryEvents.push(eventIds[i]!);
      deliveryEndpoints.push(endpointId);
      deliveryTriggers.push(input.trigger);
    }
  });
  return { eventIds, deliveryIds, deliveryEvents, deliveryEndpoints, deliveryTriggers };
}

/**
 * Runs INSERT_EVENTS_SQL: one row per input, in input order; null when an idempotency key was taken by a
 * concurrent publish (nothing was written).
 */
export async function writeEvents(
  app: App,
  inputs: readonly InsertEventInput[],
): Promise<WrittenRow[] | null> {
  const { eventIds, deliveryIds, deliveryEvents, deliveryEndpoints, deliveryTriggers } = fanOut(inputs);
  let rows: WrittenRow[];
  try {
    rows = await app.db.query<WrittenRow>(
      INSERT_EVENTS_SQL,
      [
        eventIds,
        inputs.map((x) => x.tenantId),
        inputs.map((x) => x.type),
        inputs.map((x) => x.payloadJson),
        inputs.map((x) => x.idempotencyKey),
        inputs.map((x) => x.test),
        deliveryIds,
        deliveryEvents,
        deliveryEndpoints,
        deliveryTriggers,
      ],
      "hookgate_insert_events",
    );
  } catch (err) {
    if (isIdempotencyConflict(err)) return null;
    throw err;
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  return eventIds.map((id) => {
    const row = byId.get(id);
    if (!row) throw new Error(`event ${id} was not written`);
    return row;
  });
}

function isIdempotencyConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  return (
    e?.code === "23505" && (e.constraint === IDEMPOTENCY_INDEX || !!e.message?.includes(IDEMPOTENCY_INDEX))
  );
}

export function countPublished(app: App, row: WrittenRow): void {
  app.metrics.eventsPublished.inc();
  if (row.delivery_count > 0) app.metrics.deliveriesCreated.inc(row.delivery_count);
}

/** After commit: announces a written event's deliveries (PENDING each, then one wake-up). */
export function announce(
  app: App,
  input: InsertEventInput,
  row: WrittenRow,
): { event: Event; deliveryCount: number; deliveryIds: string[] } {
  const ids = row.ids ?? [];
  for (let i = 0; i < ids.length; i++) {
    app.db.signal(
      DELIVERY_UPDATES_CHANNEL,
      encodeDeliveryUpdate({
        d: ids[i]!,
        a: null,
        t: row.paths![i]!,
        e: row.endpoint_ids![i]!,
        y: input.type,
        s: "PENDING",
      }),
    );
  }
  if (ids.length > 0) app.db.signal(WAKE_CHANNEL, "");
  const createdAt = row.created_at instanceof Date ? row.created_at : new Date(row.created_at);
  return {
    event: {
      id: row.id,
      tenantId: input.tenantId,
      type: input.type,
      payload: JSON.parse(input.payloadJson),
      idempotencyKey: input.idempotencyKey,
      test: input.test,
      createdAt,
    },
    deliveryCount: row.delivery_count,
    deliveryIds: ids,
  };
}

/**
 * Writes an event and its deliveries (see INSERT_EVENT_SQL) and announces them. Returns null when the
 * idempotency key already exists in the tenant (nothing was written).
 */
export async function insertEventWithDeliveries(
  app: App,
  input: InsertEventInput,
): Promise<{ id: string; createdAt: Date; deliveryCount: number; deliveryIds: string[] } | null> {
  const row = await writeEvent(app.db.query.bind(app.db), input, "hookgate_insert_event");
  if (!row) return null;
  const done = announce(app, input, row);
  return {
    id: row.id,
    createdAt: done.event.createdAt,
    deliveryCount: row.delivery_count,
    deliveryIds: done.deliveryIds,
  };
}
