import type { AttemptStatus, DeliveryStatus, Prisma } from "../generated/prisma/client.js";
import type { Actor, App } from "./app.js";
import { visibleTenants } from "./tenants.js";

/**
 * Read-side `where` clauses for events, deliveries and attempts. Each is confined to the
 * caller's tenant subtree first; the caller's filter can only narrow it.
 * `tenantId` narrows to exactly that tenant (as EndpointFilter.tenantId does); a tenant the
 * caller cannot see yields nothing (never an error, so that its existence is not revealed).
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
 * Which tenants to read: the caller's subtree, or exactly the visible tenant `tenantId`
 * names; null when tenantId names a tenant the caller cannot see.
 */
export async function tenantScope(
  app: App,
  actor: Actor,
  tenantId?: string | null,
): Promise<{ path: string; exact: boolean } | null> {
  if (tenantId == null) return { path: actor.tenantPath, exact: false };
  if (tenantId === actor.tenantId) return { path: actor.tenantPath, exact: true };
  const tenant = await app.prisma.tenant.findFirst({
    where: { id: tenantId, ...visibleTenants(actor) },
    select: { path: true },
  });
  return tenant ? { path: tenant.path, exact: true } : null;
}

function tenantWhere(scope: { path: string; exact: boolean }): Prisma.TenantWhereInput {
  return scope.exact ? { path: scope.path } : { path: { startsWith: scope.path } };
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
  const scope = await tenantScope(app, actor, filter.tenantId);
  if (scope === null) return NOTHING;
  return {
    tenant: tenantWhere(scope),
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
  const scope = await tenantScope(app, actor, filter.tenantId);
  if (scope === null) return NOTHING;
  return {
    tenant: tenantWhere(scope),
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
