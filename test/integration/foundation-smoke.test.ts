import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

describe("server foundation", () => {
  let h: TestHookgate;
  beforeAll(async () => {
    h = await startTestHookgate();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("serves /health and /ready, with a request id on every response", async () => {
    const health = await fetch(`${h.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    // On PostgreSQL the dispatcher's LISTEN connection may still be opening: ready soon, not at once.
    await expect
      .poll(async () => (await fetch(`${h.url}/ready`)).status, { timeout: 10_000, interval: 50 })
      .toBe(200);
    const ready = await fetch(`${h.url}/ready`, { headers: { "x-request-id": "my-trace-1" } });
    expect(await ready.json()).toEqual({ status: "ready", database: { reachable: true, listening: true } });
    expect(ready.headers.get("x-request-id")).toBe("my-trace-1");
  });

  it("answers viewer for the first admin key", async () => {
    const data = ok(await h.gql("{ viewer { keyId tenantId scopes tenant { name } } }"));
    expect(data.viewer.scopes).toEqual(["ADMIN"]);
    expect(data.viewer.tenantId).toMatch(/^ten_/);
    expect(data.viewer.tenant.name).toBe("root");
  });

  it("refuses a missing key with UNAUTHENTICATED and a bad one with its reason", async () => {
    const none = await h.gql("{ viewer { keyId } }", undefined, null);
    expect(none.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const bad = await h.gql("{ viewer { keyId } }", undefined, "hk_not-a-real-key");
    expect(bad.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(bad.errors?.[0]?.message).toBe("Invalid API key");
  });

  it("serves Prometheus metrics", async () => {
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("hookgate_process_");
  });
});
