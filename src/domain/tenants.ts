import type { Tenant } from "../generated/prisma/client.js";
import type { Actor, App } from "./app.js";
import { FieldErrors, NotFoundError } from "./errors.js";
import { hasPrefix, newId } from "./ids.js";

export const TENANT_NAME_MAX = 200;
/** Root, customers, their connected accounts... deeper trees are refused. */
export const TENANT_MAX_DEPTH = 8;

/** Prisma `where` for "tenants this actor may see": its own and every descendant. */
export function visibleTenants(actor: Actor) {
  return { path: { startsWith: actor.tenantPath } };
}

/**
 * The tenant an operation acts on: the caller's own when tenantId is omitted, else that
 * tenant if it is the caller's or a descendant. Any other id is "not found", never "forbidden",
 * so that ids of other tenants reveal nothing.
 */
export async function resolveTenant(app: App, actor: Actor, tenantId?: string | null): Promise<Tenant> {
  const id = tenantId ?? actor.tenantId;
  const tenant = hasPrefix(id, "tenant")
    ? await app.prisma.tenant.findFirst({ where: { id, ...visibleTenants(actor) } })
    : null;
  if (!tenant) throw new NotFoundError("Tenant", id);
  return tenant;
}

/**
 * Like resolveTenant, but only id and path, and without a query when the caller acts on its own
 * tenant (the hot path: publishing). Same confinement rule.
 */
export async function resolveTenantRef(
  app: App,
  actor: Actor,
  tenantId?: string | null,
): Promise<Pick<Tenant, "id" | "path">> {
  if (tenantId == null || tenantId === actor.tenantId) return { id: actor.tenantId, path: actor.tenantPath };
  const tenant = await resolveTenant(app, actor, tenantId);
  return { id: tenant.id, path: tenant.path };
}

/** Ids of the tenant and its ancestors, root first, from its path. */
export function ancestorIds(tenantPath: string): string[] {
  return tenantPath.split("/").filter(Boolean);
}

export async function getRootTenant(app: App): Promise<Tenant | null> {
  return app.prisma.tenant.findFirst({ where: { parentId: null }, orderBy: { createdAt: "asc" } });
}

/** The platform's own tenant, created on first start. */
export async function ensureRootTenant(app: App): Promise<Tenant> {
  const existing = await getRootTenant(app);
  if (existing) return existing;
  const id = newId("tenant");
  return app.prisma.tenant.create({ data: { id, name: "root", path: `/${id}/` } });
}

export interface CreateTenantInput {
  name: string;
  parentId?: string | null;
}

export function validateTenantName(errors: FieldErrors, path: string, name: string): void {
  const trimmed = name.trim();
  if (trimmed.length === 0) errors.add(path, "name must not be empty");
  else if (name.length > TENANT_NAME_MAX)
    errors.add(path, `name must be at most ${TENANT_NAME_MAX} characters`);
}

export async function createTenant(app: App, actor: Actor, input: CreateTenantInput): Promise<Tenant> {
  const errors = new FieldErrors();
  validateTenantName(errors, "input.name", input.name);
  errors.throwIfAny();
  const parent = await resolveTenant(app, actor, input.parentId);
  if (ancestorIds(parent.path).length >= TENANT_MAX_DEPTH) {
    new FieldErrors()
      .add("input.parentId", `tenants nest at most ${TENANT_MAX_DEPTH} levels deep`)
      .throwIfAny();
  }
  const id = newId("tenant");
  return app.prisma.tenant.create({
    data: { id, name: input.name.trim(), parentId: parent.id, path: `${parent.path}${id}/` },
  });
}
