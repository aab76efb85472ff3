import type { ApiKey, ApiKeyScope } from "../generated/prisma/client.js";
import { generateApiKey, hashApiKey } from "../security/api-keys.js";
import type { Actor, App } from "./app.js";
import { FieldErrors, NotFoundError } from "./errors.js";
import { hasPrefix, newId } from "./ids.js";
import { ensureRootTenant, resolveTenant, visibleTenants } from "./tenants.js";

export const API_KEY_NAME_MAX = 200;

export interface CreateApiKeyInput {
  name: string;
  scopes: ApiKeyScope[];
  tenantId?: string | null;
  expiresAt?: Date | null;
}

/** Creates a key; the plaintext is returned once here and never stored. */
export async function createApiKey(
  app: App,
  actor: Actor,
  input: CreateApiKeyInput,
): Promise<{ apiKey: ApiKey; key: string }> {
  const errors = new FieldErrors();
  if (input.name.trim().length === 0) errors.add("input.name", "name must not be empty");
  else if (input.name.length > API_KEY_NAME_MAX) {
    errors.add("input.name", `name must be at most ${API_KEY_NAME_MAX} characters`);
  }
  if (input.scopes.length === 0) errors.add("input.scopes", "at least one scope is required");
  // A key can never hand out more than its creator holds.
  if (!actor.scopes.includes("ADMIN")) {
    for (const s of input.scopes) {
      if (!actor.scopes.includes(s))
        errors.add("input.scopes", `you cannot grant ${s}, which your key lacks`);
    }
  }
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    errors.add("input.expiresAt", "expiresAt must be in the future");
  }
  errors.throwIfAny();
  const tenant = await resolveTenant(app, actor, input.tenantId);
  const generated = generateApiKey();
  const apiKey = await app.prisma.apiKey.create({
    data: {
      id: newId("apiKey"),
      tenantId: tenant.id,
      name: input.name.trim(),
      scopes: [...new Set(input.scopes)],
      hash: generated.hash,
      prefix: generated.prefix,
      expiresAt: input.expiresAt ?? null,
    },
  });
  return { apiKey, key: generated.key };
}

export interface ApiKeyListFilter {
  tenantId?: string | null;
  revoked?: boolean | null;
}

/** Prisma `where` for listing keys: the actor's tenant subtree only, whatever the filter names. */
export function apiKeyListWhere(actor: Actor, filter: ApiKeyListFilter) {
  return {
    tenant: visibleTenants(actor),
    ...(filter.tenantId != null ? { tenantId: filter.tenantId } : {}),
    ...(filter.revoked == null ? {} : { revokedAt: filter.revoked ? { not: null } : null }),
  };
}

export async function revokeApiKey(app: App, actor: Actor, id: string): Promise<ApiKey> {
  const found = hasPrefix(id, "apiKey")
    ? await app.prisma.apiKey.findFirst({ where: { id, tenant: visibleTenants(actor) } })
    : null;
  if (!found) throw new NotFoundError("ApiKey", id);
  if (found.revokedAt) return found;
  return app.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
}

export type AuthResult = { ok: true; actor: Actor } | { ok: false; reason: string };

/** last_used_at is written at most this often per key, so authentication stays one read. */
const LAST_USED_RESOLUTION_MS = 60_000;
const lastUsedWrites = new Map<string, number>();

/**
 * Resolves a bearer key. Lookup is by the SHA-256 of the key through a unique index, so no
 * plaintext comparison happens at all; revocation and expiry are read on every call, so they
 * take effect at once.
 */
export async function authenticate(app: App, key: string): Promise<AuthResult> {
  // Every request runs this, so it is one indexed query on the raw driver rather than a Prisma
  // query with an include (measured at about twice the time per call).
  const [row] = await app.db.query<{
    id: string;
    tenant_id: string;
    scopes: ApiKeyScope[] | string;
    revoked: boolean;
    expired: boolean;
    path: string;
  }>(
    `SELECT k.id, k.tenant_id, k.scopes, k.revoked_at IS NOT NULL AS revoked,
            (k.expires_at IS NOT NULL AND k.expires_at <= now()) AS expired, t.path
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE k.hash = $1`,
    [hashApiKey(key)],
    "hookgate_authenticate",
  );
  if (!row) return { ok: false, reason: "Invalid API key" };
  if (row.revoked) return { ok: false, reason: "API key has been revoked" };
  if (row.expired) return { ok: false, reason: "API key has expired" };
  touchLastUsed(app, row.id);
  return {
    ok: true,
    actor: {
      keyId: row.id,
      tenantId: row.tenant_id,
      tenantPath: row.path,
      scopes: parseEnumArray(row.scopes),
    },
  };
}

/** node-postgres returns arrays of enum types in their text form ("{ADMIN,EVENTS_PUBLISH}"). */
function parseEnumArray(value: ApiKeyScope[] | string): ApiKeyScope[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, "");
  return inner === "" ? [] : (inner.split(",") as ApiKeyScope[]);
}

function touchLastUsed(app: App, keyId: string): void {
  const now = Date.now();
  const last = lastUsedWrites.get(keyId) ?? 0;
  if (now - last < LAST_USED_RESOLUTION_MS) return;
  lastUsedWrites.set(keyId, now);
  if (lastUsedWrites.size > 10_000) lastUsedWrites.clear();
  // Fire and forget: a lost last-used write must never fail a request.
  app.prisma.apiKey
    .update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } })
    .catch((err: unknown) => app.logger.warn({ err, keyId }, "could not record API key last use"));
}

/**
 * HOOKGATE_ADMIN_KEY: makes sure an ADMIN key with exactly this value exists for the root
 * tenant (re-enabling it is not done: a revoked bootstrap key stays revoked).
 */
export async function ensureAdminKey(app: App, key: string): Promise<void> {
  const root = await ensureRootTenant(app);
  const hash = hashApiKey(key);
  const existing = await app.prisma.apiKey.findUnique({ where: { hash } });
  if (existing) return;
  await app.prisma.apiKey.create({
    data: {
      id: newId("apiKey"),
      tenantId: root.id,
      name: "HOOKGATE_ADMIN_KEY",
      scopes: ["ADMIN"],
      hash,
      prefix: key.slice(0, 10),
    },
  });
}

/** First start without HOOKGATE_ADMIN_KEY: when no key exists at all, create one admin key. */
export async function createFirstAdminKeyIfNone(app: App): Promise<string | null> {
  const root = await ensureRootTenant(app);
  if ((await app.prisma.apiKey.count()) > 0) return null;
  const generated = generateApiKey();
  await app.prisma.apiKey.create({
    data: {
      id: newId("apiKey"),
      tenantId: root.id,
      name: "first admin key",
      scopes: ["ADMIN"],
      hash: generated.hash,
      prefix: generated.prefix,
    },
  });
  return generated.key;
}
