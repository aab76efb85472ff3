// Finding the endpoint an operation names, by id or by its tenant-chosen uid, within what the actor sees.
import type { Endpoint } from "../generated/prisma/client.js";
import type { Actor, App } from "./app.js";
import { FieldErrors, NotFoundError } from "./errors.js";
import { hasPrefix } from "./ids.js";
import { resolveTenantRef, visibleTenants } from "./tenants.js";

export const ENDPOINT_UID_MAX = 128;
export const UID_RE = /^[A-Za-z0-9_.:-]+$/;

/** An endpoint the actor can see (its tenant or a descendant's), deleted ones included. */
export async function findVisibleEndpoint(app: App, actor: Actor, id: string): Promise<Endpoint | null> {
  if (!hasPrefix(id, "endpoint")) return null;
  return app.prisma.endpoint.findFirst({ where: { id, tenant: visibleTenants(actor) } });
}

/**
 * How an operation names an endpoint: its id, or its uid within `tenantId` (default: the
 * caller's tenant). A plain string is an id.
 */
export type EndpointRef = string | { id?: string | null; uid?: string | null; tenantId?: string | null };

/** The ref's one key, or a ValidationError when it gives both or neither (or a malformed uid). */
function checkEndpointRef(ref: EndpointRef): { id: string } | { uid: string; tenantId: string | null } {
  if (typeof ref === "string") return { id: ref };
  const errors = new FieldErrors();
  if ((ref.id == null) === (ref.uid == null)) {
    errors.add(ref.id == null ? "id" : "uid", "give exactly one of id or uid");
  } else if (ref.id != null && ref.tenantId != null) {
    errors.add("tenantId", "tenantId goes with uid (an id names one endpoint already)");
  } else if (ref.uid != null) {
    if (ref.uid.length === 0 || ref.uid.length > ENDPOINT_UID_MAX) {
      errors.add("uid", `uid must be 1 to ${ENDPOINT_UID_MAX} characters`);
    } else if (!UID_RE.test(ref.uid)) {
      errors.add("uid", "uid may contain only letters, digits and _ . : -");
    }
  }
  errors.throwIfAny();
  return ref.id != null ? { id: ref.id } : { uid: ref.uid!, tenantId: ref.tenantId ?? null };
}

/**
 * The endpoint a ref names among those the actor can see, deleted ones included (a uid names
 * live ones only: deleting releases it). Throws ValidationError for a malformed ref, and
 * NotFoundError when tenantId names a tenant the actor cannot see.
 */
export async function findEndpointByRef(app: App, actor: Actor, ref: EndpointRef): Promise<Endpoint | null> {
  const key = checkEndpointRef(ref);
  if ("id" in key) return findVisibleEndpoint(app, actor, key.id);
  const tenant = await resolveTenantRef(app, actor, key.tenantId);
  return app.prisma.endpoint.findFirst({ where: { tenantId: tenant.id, uid: key.uid, deletedAt: null } });
}

/** The live endpoint a ref names, else NotFoundError naming the id or uid that was given. */
export async function requireLiveEndpoint(app: App, actor: Actor, ref: EndpointRef): Promise<Endpoint> {
  const found = await findEndpointByRef(app, actor, ref);
  if (!found || found.deletedAt) {
    const given = typeof ref === "string" ? ref : (ref.id ?? ref.uid ?? "");
    throw new NotFoundError("Endpoint", given);
  }
  return found;
}
