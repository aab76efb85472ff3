import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEALTH_WINDOW_MAX_SECONDS } from "../../src/domain/endpoint-health.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
} from "./delivery-fixtures.js";

const HEALTH = `query($id: ID!, $w: Int) { endpoint(id: $id) { health(windowSeconds: $w) {
  windowSeconds attempts succeeded successRate lastAttemptAt lastFailureAt lastFailureResponseCode lastFailureReason } } }`;

describe("Endpoint.health", () => {
  let h: TestHookgate;
  let receiver: Receiver;
  let endpointId: string;

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: { ...FAST, retryScheduleMs: [60_000] } });
    let n = 0;
    // Every third request fails with 503.
    receiver = await startReceiver((_req, res) => {
      n++;
      res.statusCode = n % 3 === 0 ? 503 : 200;
      res.end(n % 3 === 0 ? "busy" : "ok");
    });
    await createEventType(h, "health.check");
    endpointId = (await createEndpoint(h, receiver.url, { events: ["health.check"] })).id;
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.stop();
  });

  it("has no rate before any attempt", async () => {
    const other = await createEndpoint(h, receiver.url, { events: ["nothing.*"] });
    const health = ok(await h.gql(HEALTH, { id: other.id })).endpoint.health;
    expect(health).toMatchObject({ windowSeconds: 86400, attempts: 0, succeeded: 0, successRate: null });
    expect(health.lastFailureReason).toBeNull();
  });

  it("counts the latest attempts in the window and names the last failure", async () => {
    for (let i = 0; i < 6; i++) await publish(h, "health.check", { i });
    await receiver.waitFor(6);
    let health: any;
    await until(
      async () => {
        health = ok(await h.gql(HEALTH, { id: endpointId })).endpoint.health;
        return health.attempts === 6;
      },
      10_000,
      () => `6 attempts in health (got ${JSON.stringify(health)})`,
    );
    expect(health).toMatchObject({ attempts: 6, succeeded: 4, lastFailureResponseCode: 503 });
    expect(health.successRate).toBeCloseTo(4 / 6);
    expect(health.lastFailureReason).toBe("HTTP 503");
    expect(Date.parse(health.lastFailureAt)).toBeLessThanOrEqual(Date.parse(health.lastAttemptAt));

    // Attempts older than the window are left out.
    await h.hookgate.app.db.query(
      `UPDATE attempts SET created_at = now() - interval '2 hours' WHERE endpoint_id = $1 AND status = 'FAILED'`,
      [endpointId],
    );
    const recent = ok(await h.gql(HEALTH, { id: endpointId, w: 3600 })).endpoint.health;
    expect(recent).toMatchObject({ windowSeconds: 3600, attempts: 4, succeeded: 4, successRate: 1 });
    expect(recent.lastFailureAt).toBeNull();
    const day = ok(await h.gql(HEALTH, { id: endpointId })).endpoint.health;
    expect(day).toMatchObject({ attempts: 6, succeeded: 4 });
  });

  it("refuses a window outside 60 s .. 30 days, naming the argument", async () => {
    for (const w of [60, HEALTH_WINDOW_MAX_SECONDS]) {
      expect(ok(await h.gql(HEALTH, { id: endpointId, w })).endpoint.health.windowSeconds).toBe(w);
    }
    for (const w of [59, HEALTH_WINDOW_MAX_SECONDS + 1, -1]) {
      const res = await h.gql(HEALTH, { id: endpointId, w });
      expect(res.errors?.[0]?.message).toMatch(/health\(windowSeconds:\) must be from 60 to 2592000/);
      expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    }
  });
});
