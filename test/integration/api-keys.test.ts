import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ValidationError } from "../../src/domain/errors.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename
  ... on CreateApiKeyPayload { key apiKey { id tenantId name prefix scopes revokedAt expiresAt createdAt } }
  ... on ValidationError { fieldErrors { path message } }
  ... on NotFoundError { resourceId } } }`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { __typename
  ... on RevokeApiKeyPayload { apiKey { id revokedAt } }
  ... on NotFoundError { resourceId } } }`;
const VIEWER = "{ viewer { keyId tenantId scopes } }";

describe("API keys", () => {
  let h: TestHookgate;
  let rootId: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    rootId = ok(await h.gql("{ viewer { tenantId } }")).viewer.tenantId;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const createKey = async (input: Record<string, unknown>, key?: string) =>
    ok(await h.gql(CREATE_KEY, { input: { name: "test key", ...input } }, key)).createApiKey;

  async function raw(authorization: string | null) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (authorization !== null) headers.authorization = authorization;
    const res = await fetch(h.graphqlUrl, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: VIEWER }),
    });
    return (await res.json()) as {
      data: unknown;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
  }

  it("returns the key once and stores only its SHA-256", async () => {
    const res = await createKey({
      name: "ci",
      scopes: ["ENDPOINTS_READ", "ENDPOINTS_READ", "EVENTS_PUBLISH"],
    });
    expect(res.__typename).toBe("CreateApiKeyPayload");
    const { key, apiKey } = res;
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: "ci", tenantId: rootId, prefix: key.slice(0, 10), revokedAt: null });
    expect(apiKey.scopes).toEqual(["ENDPOINTS_READ", "EVENTS_PUBLISH"]);

    const row = await h.hookgate.app.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(row.hash).toBe(createHash("sha256").update(key).digest("hex"));
    const secretPart = key.slice(10);
    for (const value of Object.values(row)) expect(String(value)).not.toContain(secretPart);

    // The key works, and nothing can read it back: the ApiKey type has no such field.
    expect(ok(await h.gql(VIEWER, {}, key)).viewer).toMatchObject({ keyId: apiKey.id, tenantId: rootId });
    const readBack = await h.gql(`{ viewer { keyId key } }`, {}, key);
    expect(readBack.errors?.[0]?.message).toMatch(/Cannot query field "key"/);
  });

  it("validates name, scopes and expiry", async () => {
    expect((await createKey({ name: "", scopes: ["ADMIN"] })).fieldErrors[0].path).toBe("input.name");
    expect((await createKey({ name: "n".repeat(201), scopes: ["ADMIN"] })).fieldErrors[0].path).toBe(
      "input.name",
    );
    expect((await createKey({ name: "n".repeat(200), scopes: ["ADMIN"] })).__typename).toBe(
      "CreateApiKeyPayload",
    );
    expect((await createKey({ scopes: [] })).fieldErrors[0].path).toBe("input.scopes");
    const past = await createKey({ scopes: ["ADMIN"], expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect(past.fieldErrors[0].path).toBe("input.expiresAt");
    const unknownScope = await h.gql(CREATE_KEY, { input: { name: "x", scopes: ["ROOT"] } });
    expect(unknownScope.errors?.[0]?.message).toMatch(/ROOT/);
  });

  it("enforces scopes per field with FORBIDDEN", async () => {
    const reader = (await createKey({ scopes: ["ENDPOINTS_READ"] })).key;
    const createEndpoint = await h.gql(
      `mutation { createEndpoint(input: { url: "http://127.0.0.1:9/", events: ["*"] }) { __typename } }`,
      {},
      reader,
    );
    expect(createEndpoint.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(createEndpoint.errors?.[0]?.message).toMatch(/lacks the scope/);
    const createKeyDenied = await h.gql(
      CREATE_KEY,
      { input: { name: "x", scopes: ["ENDPOINTS_READ"] } },
      reader,
    );
    expect(createKeyDenied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // What the scope does allow still works on the same key.
    const list = ok(await h.gql("{ endpoints(first: 1) { totalCount } }", {}, reader));
    expect(list.endpoints.totalCount).toBe(0);
  });

  it("never lets a key grant scopes it lacks", async () => {
    const app = h.hookgate.app;
    const root = await app.prisma.tenant.findUniqueOrThrow({ where: { id: rootId } });
    const actor = {
      keyId: "key_x",
      tenantId: root.id,
      tenantPath: root.path,
      scopes: ["ENDPOINTS_READ" as const],
    };
    const err = await createApiKey(app, actor, {
      name: "escalate",
      scopes: ["ENDPOINTS_READ", "ADMIN"],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldErrors).toEqual([
      { path: "input.scopes", message: "you cannot grant ADMIN, which your key lacks" },
    ]);
    const allowed = await createApiKey(app, actor, { name: "same", scopes: ["ENDPOINTS_READ"] });
    expect(allowed.apiKey.scopes).toEqual(["ENDPOINTS_READ"]);
  });

  it("refuses a revoked key on its next request", async () => {
    const { key, apiKey } = await createKey({ scopes: ["ENDPOINTS_READ"] });
    expect(ok(await h.gql(VIEWER, {}, key)).viewer.keyId).toBe(apiKey.id);
    const revoked = ok(await h.gql(REVOKE, { id: apiKey.id })).revokeApiKey;
    expect(revoked.apiKey.revokedAt).not.toBeNull();
    const after = await h.gql(VIEWER, {}, key);
    expect(after.errors?.[0]).toMatchObject({
      message: "API key has been revoked",
      extensions: { code: "UNAUTHENTICATED" },
    });
    // Revoking again changes nothing.
    const again = ok(await h.gql(REVOKE, { id: apiKey.id })).revokeApiKey;
    expect(again.apiKey.revokedAt).toBe(revoked.apiKey.revokedAt);
  });

  it("refuses an expired key", async () => {
    // Used (and so cached: HOOKGATE_API_KEY_CACHE_MS) before its expiry, refused from its expiry on.
    const expiresAt = Date.now() + 3000;
    const { key, apiKey } = await createKey({
      scopes: ["ENDPOINTS_READ"],
      expiresAt: new Date(expiresAt).toISOString(),
    });
    expect(ok(await h.gql(VIEWER, {}, key)).viewer.keyId).toBe(apiKey.id);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 50)));
    const after = await h.gql(VIEWER, {}, key);
    expect(after.errors?.[0]).toMatchObject({
      message: "API key has expired",
      extensions: { code: "UNAUTHENTICATED" },
    });
  });

  it("refuses missing, malformed and unknown credentials with UNAUTHENTICATED", async () => {
    for (const header of [null, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", h.adminKey, "hk_unknown"]) {
      const res = await raw(header);
      expect(res.errors?.[0]?.extensions?.code, String(header)).toBe("UNAUTHENTICATED");
      expect(res.data ?? null).toBeNull();
    }
    expect((await raw("Basic dXNlcjpwYXNz")).errors?.[0]?.message).toMatch(/Malformed Authorization header/);
    expect((await raw(`Bearer ${h.adminKey}x`)).errors?.[0]?.message).toBe("Invalid API key");
    expect((await raw(`Bearer ${h.adminKey}`)).data).toMatchObject({ viewer: { scopes: ["ADMIN"] } });
  });

  it("cannot revoke another tenant's key", async () => {
    const tenant = ok(
      await h.gql(
        `mutation { createTenant(input: { name: "other" }) { ... on CreateTenantPayload { tenant { id } } } }`,
      ),
    ).createTenant.tenant.id;
    const sibling = ok(
      await h.gql(
        `mutation { createTenant(input: { name: "sibling" }) { ... on CreateTenantPayload { tenant { id } } } }`,
      ),
    ).createTenant.tenant.id;
    const otherAdmin = (await createKey({ scopes: ["ADMIN"], tenantId: tenant })).key;
    const siblingKey = (await createKey({ scopes: ["ENDPOINTS_READ"], tenantId: sibling })).apiKey;
    const rootKeyId = ok(await h.gql(VIEWER)).viewer.keyId;

    for (const id of [rootKeyId, siblingKey.id, "key_doesnotexist", rootId]) {
      const res = ok(await h.gql(REVOKE, { id }, otherAdmin)).revokeApiKey;
      expect(res, id).toMatchObject({ __typename: "NotFoundError", resourceId: id });
    }
    const row = await h.hookgate.app.prisma.apiKey.findUniqueOrThrow({ where: { id: siblingKey.id } });
    expect(row.revokedAt).toBeNull();
    // The root's admin can revoke keys of its sub-accounts.
    expect(ok(await h.gql(REVOKE, { id: siblingKey.id })).revokeApiKey.__typename).toBe(
      "RevokeApiKeyPayload",
    );
  });
});
