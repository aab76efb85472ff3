import type { ApiKey, ApiKeyScope } from "../generated/prisma/client.js";
import { generateApiKey, hashApiKey } from "../security/api-keys.js";
import type { CachedKey } from "./api-key-cache.js";
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
  const revoked = found.revokedAt
    ? found
    : await app.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
  // At once in this process; the others hear it (or their cache's TTL runs out: domain/api-key-cache.ts).
  // Also when it was revoked already: a cache may still hold it if that revocation's notice was lost.
  app.keyCache.evictKey(id);
  app.keyCache.announceRevoked(id);
  return revoked;
}

export type AuthResult = { ok: true; actor: Actor } | { ok: false; reason: string };

/** last_used_at is written at most this often per key, so authentication stays one read. */
const LAST_USED_RESOLUTION_MS = 60_000;
const lastUsedWrites = new Map<string, number>();

/**
 * Resolves a bearer key. Lookup is by the SHA-256 of the key through a unique index, so no
 * plaintext comparison happens at all. A key read within HOOKGATE_API_KEY_CACHE_MS is served from
 * the process's cache (domain/api-key-cache.ts: a revocation reaches every process within that
 * bound, the revoking one at once); `fresh` reads it regardless (and refreshes the cache). Expiry is
 * compared with the clock on every call, cached or not.
 */
export async function authenticate(
  app: App,
  key: string,
  opts: { fresh?: boolean } = {},
): Promise<AuthResult> {
  const hash = hashApiKey(key);
  let found = opts.fresh ? undefined : app.keyCache.get(hash);
  if (!found) {
    const read = app.keyCache.startRead();
    found = await readKey(app, hash);
    if (!found) return { ok: false, reason: "Invalid API key" };
    app.keyCache.set(hash, found, read);
  }
  if (found.revoked) return { ok: false, reason: "API key has been revoked" };
  if (found.expiresAt !== null && found.expiresAt <= Date.now())
    return { ok: false, reason: "API key has expired" };
  touchLastUsed(app, found.id);
  return {
    ok: true,
    actor: { keyId: found.id, tenantId: found.tenantId, tenantPath: found.tenantPath, scopes: found.scopes },
  };
}

async function readKey(app: App, hash: string): Promise<CachedKey | undefined> {
  // Every uncached request runs this, so it is one indexed query on the raw driver rather than a
  // Prisma query with an include (measured at about twice the time per call).
  const [row] = await app.db.query<{
    id: string;
    tenant_id: string;
    scopes: ApiKeyScope[] | string;
    revoked: boolean;
    expires_at: Date | null;
    path: string;
  }>(
    `SELECT k.id, k.tenant_id, k.scopes, k.revoked_at IS NOT NULL AS revoked, k.expires_at, t.path
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE k.hash = $1`,
    [hash],
    "hookgate_authenticate_key",
  );
  if (!row) return undefined;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tenantPath: row.path,
    scopes: parseEnumArray(row.scopes),
    revoked: row.revoked,
    expiresAt: row.expires_at ? new Date(row.expires_at).getTime() : null,
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
