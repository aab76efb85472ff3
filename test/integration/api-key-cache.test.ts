/**
 * The API-key cache (domain/api-key-cache.ts) in one process: what it serves, what evicts it (a
 * revocation here, at once; a notification from another process), and what it never hides (expiry).
 * The same with two real processes on one PostgreSQL: test/e2e/api-key-revocation.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_KEY_REVOKED_CHANNEL } from "../../src/domain/api-key-cache.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename
  ... on CreateApiKeyPayload { key apiKey { id } } } }`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { __typename } }`;
const VIEWER = "{ viewer { keyId } }";

async function viewer(h: TestHookgate, key: string): Promise<string> {
  const res = await fetch(h.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: VIEWER }),
  });
  const body = (await res.json()) as { data?: { viewer: { keyId: string } }; errors?: { message: string }[] };
  return body.errors ? body.errors[0]!.message : `ok ${body.data!.viewer.keyId}`;
}

async function createKey(h: TestHookgate, input: Record<string, unknown> = {}) {
  const res = ok(await h.gql(CREATE_KEY, { input: { name: "cache", scopes: ["ENDPOINTS_READ"], ...input } }));
  return res.createApiKey as { key: string; apiKey: { id: string } };
}

/** Revokes behind Hookgate's back: no eviction, no notification (what a lost notification looks like). */
async function revokeInDatabase(h: TestHookgate, id: string) {
  await h.hookgate.app.db.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [id]);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("API-key cache, long TTL", () => {
  let h: TestHookgate;
  beforeAll(async () => {
    h = await startTestHookgate({ role: "api", config: { apiKeyCacheMs: 60_000 } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("serves a key read within the TTL; a revocation in this process is effective at once", async () => {
    const { key, apiKey } = await createKey(h);
    expect(await viewer(h, key)).toBe(`ok ${apiKey.id}`);
    await revokeInDatabase(h, apiKey.id);
    // Cached: the change made behind its back is not seen (this is what the TTL bounds).
    expect(await viewer(h, key)).toBe(`ok ${apiKey.id}`);
    expect(ok(await h.gql(REVOKE, { id: apiKey.id })).revokeApiKey.__typename).toBe("RevokeApiKeyPayload");
    expect(await viewer(h, key)).toBe("API key has been revoked");
  });

  it("a revocation announced by another process (NOTIFY) evicts the key", async () => {
    const { key, apiKey } = await createKey(h);
    expect(await viewer(h, key)).toBe(`ok ${apiKey.id}`);
    await revokeInDatabase(h, apiKey.id);
    await h.hookgate.app.db.notify(API_KEY_REVOKED_CHANNEL, apiKey.id);
    await until("the notified revocation", async () => (await viewer(h, key)) === "API key has been revoked");
  });

  it("refuses an expired key at its expiry, cached or not", async () => {
    const expiresAt = new Date(Date.now() + 3000);
    const { key, apiKey } = await createKey(h, { expiresAt: expiresAt.toISOString() });
    expect(await viewer(h, key)).toBe(`ok ${apiKey.id}`);
    await until("the expiry", async () => Date.now() > expiresAt.getTime());
    expect(await viewer(h, key)).toBe("API key has expired");
  });

  it("records lastUsedAt for a key served from the cache", async () => {
    const { key, apiKey } = await createKey(h);
    expect(await viewer(h, key)).toBe(`ok ${apiKey.id}`);
    await until("lastUsedAt", async () => {
      const row = await h.hookgate.app.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
      return row.lastUsedAt !== null;
    });
  });
});

describe("API-key cache off (HOOKGATE_API_KEY_CACHE_MS=0)", () => {
  let h: TestHookgate;
  beforeAll(async () => {
    h = await startTestHookgate({ role: "api", config: { apiKeyCacheMs: 0 } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("reads the key on every request", async () => {
    const { key, apiKey } = await createKey(h);
    expect(await viewer(h, key)).toBe(`ok ${apiKey.id}`);
    await revokeInDatabase(h, apiKey.id);
    expect(await viewer(h, key)).toBe("API key has been revoked");
  });
});
