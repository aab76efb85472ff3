/**
 * API-key revocation across processes, with the API-key cache on (domain/api-key-cache.ts): two real
 * `hookgate serve --role api` processes on one PostgreSQL. Revoked through process A, the key is refused
 * by A on the next request and by B within the stated bound (HOOKGATE_API_KEY_CACHE_MS), also when B never
 * hears of it (revoked behind both processes' backs, as when the notification is lost).
 * PostgreSQL only: two processes cannot share an embedded (PGlite) data directory.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";
import { type HookgateProcess, startHookgateProcess } from "../support/hookgate-process.js";

const ADMIN_KEY = `admin-${randomBytes(24).toString("hex")}`;
const BOUND_MS = 3000;
const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename
  ... on CreateApiKeyPayload { key apiKey { id } } } }`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { __typename } }`;
const VIEWER = "{ viewer { keyId } }";

describe.skipIf(TEST_DB !== "postgres")("API-key revocation across two processes (cache on)", () => {
  let database: TestDatabase;
  let a: HookgateProcess;
  let b: HookgateProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url!,
      HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      HOOKGATE_ADMIN_KEY: ADMIN_KEY,
      HOOKGATE_API_KEY_CACHE_MS: String(BOUND_MS),
      HOOKGATE_API_RATE_LIMIT: "0",
    };
    a = await startHookgateProcess(env, { role: "api" });
    b = await startHookgateProcess(env, { role: "api" });
  }, 300_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.close();
  });

  async function accepted(p: HookgateProcess, key: string): Promise<boolean> {
    const res = await p.gql(key, VIEWER);
    if (res.errors) {
      expect(res.errors[0].message).toBe("API key has been revoked");
      return false;
    }
    return true;
  }

  async function newKey(): Promise<{ key: string; id: string }> {
    const res = await a.gql(ADMIN_KEY, CREATE_KEY, { input: { name: "rev", scopes: ["ENDPOINTS_READ"] } });
    expect(res.data?.createApiKey.__typename, JSON.stringify(res)).toBe("CreateApiKeyPayload");
    return { key: res.data.createApiKey.key, id: res.data.createApiKey.apiKey.id };
  }

  /**
   * Asks B until it refuses the key; returns when the first refused request was sent, relative to
   * `revokedAt`. Every request sent later than the bound after revokedAt must be refused.
   */
  async function refusedByB(key: string, revokedAt: number): Promise<number> {
    for (;;) {
      const sentAt = Date.now();
      const ok = await accepted(b, key);
      if (!ok) return sentAt - revokedAt;
      expect(sentAt - revokedAt, "B accepted a revoked key past the bound").toBeLessThanOrEqual(BOUND_MS);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("revoked through A: A refuses it at once, B within the bound", async () => {
    const { key, id } = await newKey();
    // Both processes have the key cached now (a key created in A works in B at once: no negative cache).
    expect(await accepted(a, key)).toBe(true);
    expect(await accepted(b, key)).toBe(true);
    const res = await a.gql(ADMIN_KEY, REVOKE, { id });
    expect(res.data?.revokeApiKey.__typename, JSON.stringify(res)).toBe("RevokeApiKeyPayload");
    const revokedAt = Date.now();
    expect(await accepted(a, key)).toBe(false);
    const after = await refusedByB(key, revokedAt);
    console.log(`[api-key cache] revoked through A: B refused it ${after} ms later (bound ${BOUND_MS} ms)`);
  });

  it("revoked with no notification at all: both refuse it within the bound (the TTL alone)", async () => {
    const { key, id } = await newKey();
    expect(await accepted(a, key)).toBe(true);
    expect(await accepted(b, key)).toBe(true);
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      await sql.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [id]);
    } finally {
      await sql.end();
    }
    const revokedAt = Date.now();
    const after = await refusedByB(key, revokedAt);
    console.log(`[api-key cache] revoked unannounced: B refused it ${after} ms later (bound ${BOUND_MS} ms)`);
    expect(await accepted(a, key)).toBe(false);
  });
});
