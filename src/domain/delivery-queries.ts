import type { AttemptStatus, DeliveryStatus, Prisma } from "../generated/prisma/client.js";
import type { Actor, App } from "./app.js";
import { visibleTenants } from "./tenants.js";

/**
 * Read-side `where` clauses for events, deliveries and attempts. Each is confined to the
 * caller's tenant subtree first; the caller's filter can only narrow it.
 * `tenantId` narrows to that tenant and its descendants; a tenant the caller cannot see
 * yields nothing (never an error, so that its existence is not revealed).
 */

export interface TimeRange {
  /** Inclusive. */
  since?: Date | null;
  /** Exclusive. */
  until?: Date | null;
}

export interface EventFilter extends TimeRange {
  type?: string | null;
  test?: boolean | null;
  tenantId?: string | null;
  idempotencyKey?: string | null;
}

export interface DeliveryFilter extends TimeRange {
  endpointId?: string | null;
  eventId?: string | null;
  eventType?: string | null;
  status?: readonly DeliveryStatus[] | null;
  tenantId?: string | null;
}

export interface AttemptFilter extends TimeRange {
  deliveryId?: string | null;
  endpointId?: string | null;
  status?: readonly AttemptStatus[] | null;
}

const NOTHING = { id: { in: [] as string[] } };

/**
 * Path prefix of the subtree to read: the caller's, or the visible tenant `tenantId` names;
 * null when tenantId names a tenant the caller cannot see.
 */
export async function subtreePath(app: App, actor: Actor, tenantId?: string | null): Promise<string | null> {
  if (tenantId == null) return actor.tenantPath;
  if (tenantId === actor.tenantId) return actor.tenantPath;
  const tenant = await app.prisma.tenant.findFirst({
    where: { id: tenantId, ...visibleTenants(actor) },
    select: { path: true },
  });
  return tenant?.path ?? null;
}

function createdAt(range: TimeRange): { createdAt?: Prisma.DateTimeFilter } {
  if (!range.since && !range.until) return {};
  return {
    createdAt: {
      ...(range.since ? { gte: range.since } : {}),
      ...(range.until ? { lt: range.until } : {}),
    },
  };
}

/** A non-empty status list, or undefined for "any" (an empty list means any too). */
function statusIn<T>(status?: readonly T[] | null): { in: T[] } | undefined {
  return status && status.length > 0 ? { in: [...status] } : undefined;
}

export async function eventWhere(
  app: App,
  actor: Actor,
  filter: EventFilter = {},
): Promise<Prisma.EventWhereInput> {
  const path = await subtreePath(app, actor, filter.tenantId);
  if (path === null) return NOTHING;
  return {
    tenant: { path: { startsWith: path } },
    ...(filter.type != null ? { type: filter.type } : {}),
    ...(filter.test != null ? { test: filter.test } : {}),
    ...(filter.idempotencyKey != null ? { idempotencyKey: filter.idempotencyKey } : {}),
    ...createdAt(filter),
  };
}

export async function deliveryWhere(
  app: App,
  actor: Actor,
  filter: DeliveryFilter = {},
): Promise<Prisma.DeliveryWhereInput> {
  const path = await subtreePath(app, actor, filter.tenantId);
  if (path === null) return NOTHING;
  return {
    tenant: { path: { startsWith: path } },
    ...(filter.endpointId != null ? { endpointId: filter.endpointId } : {}),
    ...(filter.eventId != null ? { eventId: filter.eventId } : {}),
    ...(filter.eventType != null ? { eventType: filter.eventType } : {}),
    ...(statusIn(filter.status) ? { status: statusIn(filter.status) } : {}),
    ...createdAt(filter),
  };
}

export function attemptWhere(actor: Actor, filter: AttemptFilter = {}): Prisma.AttemptWhereInput {
  return {
    delivery: { tenant: visibleTenants(actor) },
    ...(filter.deliveryId != null ? { deliveryId: filter.deliveryId } : {}),
    ...(filter.endpointId != null ? { endpointId: filter.endpointId } : {}),
    ...(statusIn(filter.status) ? { status: statusIn(filter.status) } : {}),
    ...createdAt(filter),
  };
}

/** Deliveries under Event/Endpoint: an event's deliveries may belong to tenants the caller can't see. */
export function visibleDeliveries(actor: Actor): Prisma.DeliveryWhereInput {
  return { tenant: visibleTenants(actor) };
}
