import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliRunner, json } from "../support/cli.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// `hookgate keys create` through a running server (the createApiKey mutation) when --url/HOOKGATE_URL and a
// key are given, against a real Hookgate (PGlite and PostgreSQL). The direct path and its refusal while a
// server owns the data dir are in test/cli.test.ts (embedded only).

describe("hookgate keys create through the API", { timeout: 180_000 }, () => {
  let h: TestHookgate;
  let cli: ReturnType<typeof cliRunner>;

  beforeAll(async () => {
    h = await startTestHookgate();
    cli = cliRunner(h.url, h.adminKey);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("prints the key on stdout (or JSON); the key works with the scopes asked for", async () => {
    const made = await cli(["keys", "create", "--scopes", "endpoints_read,deliveries_read", "--name", "ops"]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^hk_\S+\n$/);
    expect(made.stderr).toMatch(/^created key_\S+ for tenant ten_\S+ with ENDPOINTS_READ,DELIVERIES_READ\n$/);
    const viewer = await h.gql("{ viewer { scopes } }", {}, made.stdout.trim());
    expect(viewer.data.viewer.scopes).toEqual(["ENDPOINTS_READ", "DELIVERIES_READ"]);

    const tenant = await h.gql(
      `mutation { createTenant(input: { name: "Sub" }) { ... on CreateTenantPayload { tenant { id } } } }`,
    );
    const sub = tenant.data.createTenant.tenant.id;
    const asJson = json(await cli(["keys", "create", "--scopes", "ADMIN", "--tenant", sub, "--json"]));
    expect(asJson.apiKey).toMatchObject({ tenantId: sub, scopes: ["ADMIN"], name: "cli" });
    expect(asJson.key).toMatch(/^hk_/);
    const listed = json(await cli(["keys", "list", "--tenant", sub, "--json"]));
    expect(listed.map((k: { id: string }) => k.id)).toEqual([asJson.apiKey.id]);
  });

  it("typed errors, refusals and bad input are one line with a non-zero exit", async () => {
    const unknownTenant = await cli([
      "keys",
      "create",
      "--scopes",
      "ADMIN",
      "--tenant",
      "ten_01ZZZZZZZZZZZZZZZZZZZZZZZZ",
    ]);
    expect(unknownTenant).toMatchObject({ code: 1, stdout: "" });
    expect(unknownTenant.stderr).toMatch(/^hookgate: NOT_FOUND: .+\n$/);

    const reader = json(await cli(["keys", "create", "--scopes", "ENDPOINTS_READ", "--json"])).key;
    const forbidden = await cli(["keys", "create", "--scopes", "ADMIN"], { key: reader });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^hookgate: FORBIDDEN: .+\n$/);

    const root = await cli(["keys", "create", "--scopes", "ADMIN", "--tenant", "root"]);
    expect(root.code).toBe(2);
    expect(root.stderr).toMatch(/^hookgate: --tenant root works on the database directly; /);
    const noKey = await cli(["keys", "create", "--url", h.url, "--scopes", "ADMIN"], { key: "" });
    expect(noKey).toMatchObject({
      code: 2,
      stderr:
        "hookgate: no API key to create the key through the server: pass --api-key or set HOOKGATE_API_KEY\n",
    });
    const scope = await cli(["keys", "create", "--scopes", "ADMIN,EVERYTHING"]);
    expect(scope.code).toBe(2);
    expect(scope.stderr).toMatch(/^hookgate: --scopes: unknown value EVERYTHING; /);
  });
});
