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
  /** The endpoint with this uid in `tenantId` (default: the caller's tenant). */
  endpointUid?: string | null;
  eventId?: string | null;
  eventType?: string | null;
  status?: readonly DeliveryStatus[] | null;
  tenantId?: string | null;
}

export interface AttemptFilter extends TimeRange {
  deliveryId?: string | null;
  endpointId?: string | null;
  endpointUid?: string | null;
  eventType?: string | null;
  tenantId?: string | null;
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
): Promise<TenantScope | null> {
  if (tenantId == null) return { id: actor.tenantId, path: actor.tenantPath, exact: false };
  if (tenantId === actor.tenantId) return { id: actor.tenantId, path: actor.tenantPath, exact: true };
  const tenant = await app.prisma.tenant.findFirst({
    where: { id: tenantId, ...visibleTenants(actor) },
    select: { id: true, path: true },
  });
  return tenant ? { id: tenant.id, path: tenant.path, exact: true } : null;
}

export interface TenantScope {
  /** The tenant named (or the caller's own when none was). */
  id: string;
  path: string;
  /** Only that tenant (true), or it and its descendants. */
  exact: boolean;
}

/**
 * One tenant is a plain tenant_id equality (so the (tenant_id, ...) indexes serve it); a
 * subtree goes through the tenants' paths.
 */
function tenantWhere(scope: TenantScope): { tenantId: string } | { tenant: Prisma.TenantWhereInput } {
  return scope.exact ? { tenantId: scope.id } : { tenant: { path: { startsWith: scope.path } } };
}

/**
 * The endpoint ids a filter's endpointId/endpointUid allow: undefined for "any", [] for none.
 * A uid is looked up in the scope's tenant (uids are unique per tenant among live endpoints).
 */
export async function filterEndpointId(
  app: App,
  scope: TenantScope,
  filter: { endpointId?: string | null; endpointUid?: string | null },
): Promise<string | null | undefined> {
  if (filter.endpointUid == null) return filter.endpointId ?? undefined;
  const found = await app.prisma.endpoint.findFirst({
    where: { tenantId: scope.id, uid: filter.endpointUid },
    select: { id: true },
  });
  if (!found || (filter.endpointId != null && filter.endpointId !== found.id)) return null;
  return found.id;
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
    ...tenantWhere(scope),
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
  const endpointId = await filterEndpointId(app, scope, filter);
  if (endpointId === null) return NOTHING;
  return {
    ...tenantWhere(scope),
    ...(endpointId !== undefined ? { endpointId } : {}),
    ...(filter.eventId != null ? { eventId: filter.eventId } : {}),
    ...(filter.eventType != null ? { eventType: filter.eventType } : {}),
    ...(statusIn(filter.status) ? { status: statusIn(filter.status) } : {}),
    ...createdAt(filter),
  };
}

export async function attemptWhere(
  app: App,
  actor: Actor,
  filter: AttemptFilter = {},
): Promise<Prisma.AttemptWhereInput> {
  const scope = await tenantScope(app, actor, filter.tenantId);
  if (scope === null) return NOTHING;
  const endpointId = await filterEndpointId(app, scope, filter);
  if (endpointId === null) return NOTHING;
  return {
    delivery: {
      ...tenantWhere(scope),
      ...(filter.eventType != null ? { eventType: filter.eventType } : {}),
    },
    ...(filter.deliveryId != null ? { deliveryId: filter.deliveryId } : {}),
    ...(endpointId !== undefined ? { endpointId } : {}),
    ...(statusIn(filter.status) ? { status: statusIn(filter.status) } : {}),
    ...createdAt(filter),
  };
}

/** Deliveries under Event/Endpoint: an event's deliveries may belong to tenants the caller can't see. */
export function visibleDeliveries(actor: Actor): Prisma.DeliveryWhereInput {
  return { tenant: visibleTenants(actor) };
}
