import type { Delivery } from "../generated/prisma/client.js";
import { resolveAndCheckUrl } from "../security/url-policy.js";
import type { Actor, App } from "./app.js";
import { type EndpointRef, requireLiveEndpoint } from "./endpoint-refs.js";
import { ConflictError, FieldErrors, NotFoundError, ValidationError } from "./errors.js";
import { eventTypeNameProblem, findVisibleEventType } from "./event-types.js";
import { insertEventWithDeliveries } from "./event-writes.js";
import { hasPrefix } from "./ids.js";
import { DELIVERY_UPDATES_CHANNEL, encodeDeliveryUpdate, WAKE_CHANNEL } from "./signals.js";
import { visibleTenants } from "./tenants.js";

/** recoverEndpoint re-queues at most this wide a window per call (bounds one statement's work). */
export const RECOVER_MAX_WINDOW_MS = 30 * 24 * 3600_000;

/**
 * testEndpoint: a synthetic event (test = true) of `eventType` with one delivery to this endpoint only,
 * whatever its filter, due now, trigger TEST. The event type must be one the endpoint's tenant can see
 * (deprecated ones too: it is only a test). Sent even when the endpoint is disabled: someone asked.
 */
export async function testEndpoint(
  app: App,
  actor: Actor,
  ref: EndpointRef,
  eventType: string,
): Promise<Delivery> {
  const endpoint = await requireLiveEndpoint(app, actor, ref);
  const problem = eventTypeNameProblem(eventType);
  if (problem) throw ValidationError.field("eventType", problem);
  const tenant = await app.prisma.tenant.findUniqueOrThrow({ where: { id: endpoint.tenantId } });
  if (!(await findVisibleEventType(app, tenant.path, eventType))) {
    throw ValidationError.field("eventType", `Unknown event type "${eventType}"`);
  }
  const payload = {
    test: true,
    message: "Test event sent by Hookgate's testEndpoint",
    endpointId: endpoint.id,
  };
  const written = await insertEventWithDeliveries(app, {
    tenantId: endpoint.tenantId,
    type: eventType,
    payloadJson: JSON.stringify(payload),
    idempotencyKey: null,
    test: true,
    trigger: "TEST",
    endpointIds: [endpoint.id],
  });
  // No idempotency key, and the endpoint was just read: anything but one delivery is a bug.
  const deliveryId = written?.deliveryCount === 1 ? written.deliveryIds[0] : null;
  if (!deliveryId) throw new Error("test delivery was not created");
  app.metrics.deliveriesCreated.inc();
  return app.prisma.delivery.findUniqueOrThrow({ where: { id: deliveryId } });
}

async function findVisibleDelivery(app: App, actor: Actor, id: string): Promise<Delivery | null> {
  if (!hasPrefix(id, "delivery")) return null;
  return app.prisma.delivery.findFirst({ where: { id, tenant: visibleTenants(actor) } });
}

// Shared tail of replay/recover: what the updated rows' signals need. The signals and one wake-up are sent
// after commit (Database.signal; see SignalSender for why not from inside the statement).
const UPDATED_ROWS = `
SELECT u.id, u.endpoint_id, u.event_type, u.status::text AS status, t.path
FROM u JOIN tenants t ON t.id = u.tenant_id`;

interface UpdatedRow {
  id: string;
  endpoint_id: string;
  event_type: string;
  status: string;
  path: string;
}

function signalUpdated(app: App, rows: UpdatedRow[]): void {
  for (const r of rows) {
    app.db.signal(
      DELIVERY_UPDATES_CHANNEL,
      encodeDeliveryUpdate({ d: r.id, a: null, t: r.path, e: r.endpoint_id, y: r.event_type, s: r.status }),
    );
  }
  if (rows.length > 0) app.db.signal(WAKE_CHANNEL, "");
}

/**
 * replayDelivery: one more attempt, now (trigger REPLAY), whatever the delivery's state, except while it is
 * being sent (ConflictError: its outcome is about to be written). `url` sends that one attempt elsewhere
 * (validated like endpoint urls); retries after it go to the endpoint's own url again. If the replayed
 * attempt fails, the retry schedule continues from the delivery's attempt count (a delivery that had used
 * its schedule fails again at once).
 */
export async function replayDelivery(
  app: App,
  actor: Actor,
  id: string,
  url?: string | null,
): Promise<Delivery> {
  if (url != null) {
    const checked = await resolveAndCheckUrl(url, app.urlPolicy, app.dnsLookup);
    if (!checked.ok) throw ValidationError.field("url", checked.message);
  }
  const delivery = await findVisibleDelivery(app, actor, id);
  if (!delivery) throw new NotFoundError("Delivery", id);
  const rows = await app.db.query<UpdatedRow>(
    `WITH u AS (
       UPDATE deliveries SET
         status = CASE WHEN status = 'PENDING' OR attempt_count = 0 THEN 'PENDING'::delivery_status
                       ELSE 'RETRYING'::delivery_status END,
         next_attempt_at = now(), trigger = 'REPLAY', target_url = $2, locked_by = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE id = $1 AND status <> 'SENDING'
       RETURNING id, endpoint_id, tenant_id, event_type, status
     )${UPDATED_ROWS}`,
    [delivery.id, url ?? null],
  );
  signalUpdated(app, rows);
  if (rows.length === 0) {
    throw new ConflictError("The delivery is being sent right now; replay it once this attempt has finished");
  }
  return app.prisma.delivery.findUniqueOrThrow({ where: { id: delivery.id } });
}

/**
 * recoverEndpoint: re-queues the endpoint's FAILED and CANCELLED deliveries created in [since, until)
 * (until defaults to now; the window is at most 30 days) for one more attempt each, now, trigger REPLAY.
 * CANCELLED ones are included because those are what a disabled endpoint missed, which is exactly what
 * recovering after re-enabling it is for. The endpoint must be enabled (ConflictError otherwise).
 */
export async function recoverEndpoint(
  app: App,
  actor: Actor,
  ref: EndpointRef,
  since: Date,
  until?: Date | null,
): Promise<number> {
  const end = until ?? new Date();
  const errors = new FieldErrors();
  if (Number.isNaN(since.getTime())) errors.add("since", "since must be a valid time");
  if (Number.isNaN(end.getTime())) errors.add("until", "until must be a valid time");
  else if (since.getTime() >= end.getTime()) errors.add("since", "since must be before until");
  else if (end.getTime() - since.getTime() > RECOVER_MAX_WINDOW_MS)
    errors.add("since", "the window from since to until must be at most 30 days");
  errors.throwIfAny();
  const endpoint = await requireLiveEndpoint(app, actor, ref);
  if (endpoint.status !== "ENABLED") {
    throw new ConflictError("The endpoint is disabled; enable it before recovering its deliveries");
  }
  const rows = await app.db.query<UpdatedRow>(
    `WITH u AS (
       UPDATE deliveries SET
         status = CASE WHEN attempt_count = 0 THEN 'PENDING'::delivery_status ELSE 'RETRYING'::delivery_status END,
         next_attempt_at = now(), trigger = 'REPLAY', target_url = NULL, locked_by = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE endpoint_id = $1 AND status IN ('FAILED', 'CANCELLED') AND created_at >= $2 AND created_at < $3
       RETURNING id, endpoint_id, tenant_id, event_type, status
     )${UPDATED_ROWS}`,
    [endpoint.id, since, end],
  );
  signalUpdated(app, rows);
  return rows.length;
}
