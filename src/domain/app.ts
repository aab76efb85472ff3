import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Database, PrismaClient } from "../db/database.js";
import type { ApiKeyScope } from "../generated/prisma/client.js";
import type { Metrics } from "../metrics.js";
import type { LookupFn, UrlPolicy } from "../security/url-policy.js";
import type { ApiKeyCache } from "./api-key-cache.js";

/** What an encrypted-at-rest value needs; implemented by src/security/crypto.ts. */
export interface Cipher {
  encrypt(plain: string): string;
  decrypt(token: string): string;
}

/**
 * Everything the domain needs, built once per process (src/app.ts) and shared by the API and
 * the dispatcher. Domain functions take it as their first argument; nothing here knows GraphQL.
 */
export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly prisma: PrismaClient;
  readonly cipher: Cipher;
  readonly logger: Logger;
  readonly urlPolicy: UrlPolicy;
  readonly metrics: Metrics;
  /** API-key lookups cached in this process (HOOKGATE_API_KEY_CACHE_MS; see domain/api-key-cache.ts). */
  readonly keyCache: ApiKeyCache;
  /**
   * DNS for URL checks (endpoint create/update, replay-to-url) and for delivery connections.
   * Undefined = the system resolver; tests inject one so that no test touches real DNS.
   */
  readonly dnsLookup?: LookupFn;
}

/** Who is calling: an authenticated API key, confined to its tenant and that tenant's descendants. */
export interface Actor {
  keyId: string;
  tenantId: string;
  /** The tenant's materialised path ("/ten_root/ten_x/"); descendants' paths start with it. */
  tenantPath: string;
  scopes: ApiKeyScope[];
}

export function hasScope(actor: Actor, scope: ApiKeyScope): boolean {
  return actor.scopes.includes("ADMIN") || actor.scopes.includes(scope);
}
