import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  attemptsOf,
  createEndpoint,
  createEventType,
  deliveriesOf,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
  waitForStatus,
} from "./delivery-fixtures.js";

let typeSeq = 0;

/** Publishes one event of a fresh type to a fresh endpoint on `rx` and returns its delivery id. */
async function deliverOnce(h: TestHookgate, rx: Receiver, type = `t.case${++typeSeq}`) {
  await createEventType(h, type);
  const ep = await createEndpoint(h, rx.url, { events: [type] });
  const res = await publish(h, type, { hello: "world" });
  expect(res.deliveryCount).toBe(1);
  const [d] = await deliveriesOf(h, res.event.id);
  return { deliveryId: d.id as string, endpointId: ep.id };
}

async function endpointRow(h: TestHookgate, id: string) {
  const rows = await h.hookgate.app.db.query<Record<string, any>>("SELECT * FROM endpoints WHERE id = $1", [
    id,
  ]);
  return rows[0];
}

describe("delivery outcomes and retries", () => {
  let h: TestHookgate;
  const receivers: Receiver[] = [];
  const receiver = async () => {
    const rx = await startReceiver();
    receivers.push(rx);
    return rx;
  };

  beforeAll(async () => {
    h = await startTestHookgate({
      role: "all",
      config: { ...FAST, retryAfterMaxMs: 1500, attemptTimeoutMs: 400, maxResponseBytes: 1000 },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("retries failures on the schedule, records every attempt, and a success ends it and clears failing_since", async () => {
    const rx = await receiver();
    const codes = [500, 502, 200];
    rx.handle((_req, res) => {
      res.statusCode = codes[Math.min(rx.requests.length - 1, codes.length - 1)];
      res.end(`answer ${rx.requests.length}`);
    });
    const { deliveryId, endpointId } = await deliverOnce(h, rx);
    const done = await waitForStatus(h, deliveryId, "SUCCEEDED");
    expect(done.attempt_count).toBe(3);
    expect(done.next_attempt_at).toBeNull();
    const attempts = await attemptsOf(h, deliveryId);
    expect(attempts.map((a) => [a.attempt_number, a.response_code, a.status, a.response_body])).toEqual([
      [1, 500, "FAILED", "answer 1"],
      [2, 502, "FAILED", "answer 2"],
      [3, 200, "SUCCEEDED", "answer 3"],
    ]);
    // Same event, same body, same webhook-id on every attempt: receivers can deduplicate.
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(new Set(rx.requests.map((r) => r.body)).size).toBe(1);
    // The schedule's waits (50 ms, then 100 ms) were respected.
    expect(rx.requests[1].at - rx.requests[0].at).toBeGreaterThanOrEqual(45);
    expect(rx.requests[2].at - rx.requests[1].at).toBeGreaterThanOrEqual(95);
    expect((await endpointRow(h, endpointId)).failing_since).toBeNull();
  });

  it("fails the delivery after the last retry, and sets failing_since on the endpoint", async () => {
    const rx = await receiver();
    rx.handle((_req, res) => {
      res.statusCode = 500;
      res.end("nope");
    });
    const { deliveryId, endpointId } = await deliverOnce(h, rx);
    const done = await waitForStatus(h, deliveryId, "FAILED");
    expect(done.attempt_count).toBe(4); // the immediate attempt + 3 retries
    expect(done.next_attempt_at).toBeNull();
    expect(done.locked_by).toBeNull();
    expect((await attemptsOf(h, deliveryId)).map((a) => a.attempt_number)).toEqual([1, 2, 3, 4]);
    expect(rx.requests).toHaveLength(4);
    const ep = await endpointRow(h, endpointId);
    expect(ep.failing_since).not.toBeNull();
    expect(ep.status).toBe("ENABLED");
  });

  it("honours Retry-After on 503/429, bounded by retryAfterMaxMs", async () => {
    const rx = await receiver();
    rx.handle((_req, res) => {
      const n = rx.requests.length;
      if (n === 1) {
        res.writeHead(503, { "retry-after": "1" }).end();
      } else if (n === 2) {
        res.writeHead(429, { "retry-after": "3600" }).end();
      } else res.end("ok");
    });
    const { deliveryId } = await deliverOnce(h, rx);
    await waitForStatus(h, deliveryId, "SUCCEEDED", 15_000);
    const [a, b, c] = rx.requests;
    // 1 s asked, more than the 50 ms schedule: waited at least 1 s.
    expect(b.at - a.at).toBeGreaterThanOrEqual(990);
    // An hour asked: bounded to retryAfterMaxMs (1.5 s).
    expect(c.at - b.at).toBeGreaterThanOrEqual(1490);
    expect(c.at - b.at).toBeLessThan(3000);
  });

  it("ignores Retry-After on other statuses", async () => {
    const rx = await receiver();
    rx.handle((_req, res) => {
      if (rx.requests.length === 1) res.writeHead(500, { "retry-after": "3600" }).end();
      else res.end("ok");
    });
    const { deliveryId } = await deliverOnce(h, rx);
    await waitForStatus(h, deliveryId, "SUCCEEDED");
    expect(rx.requests[1].at - rx.requests[0].at).toBeLessThan(1000);
  });

  it("410 Gone fails the delivery and disables the endpoint (reason GONE); later events skip it", async () => {
    const rx = await receiver();
    rx.handle((_req, res) => {
      res.statusCode = 410;
      res.end("gone");
    });
    const { deliveryId, endpointId } = await deliverOnce(h, rx, "t.gone");
    const done = await waitForStatus(h, deliveryId, "FAILED");
    expect(done.attempt_count).toBe(1);
    const ep = await endpointRow(h, endpointId);
    expect(ep.status).toBe("DISABLED");
    expect(ep.disabled_reason).toBe("GONE");
    const again = await publish(h, "t.gone", { n: 2 });
    expect(again.deliveryCount).toBe(0);
    expect(rx.requests).toHaveLength(1);
  });

  it("times out an attempt that never gets an answer", async () => {
    const rx = await receiver();
    rx.handle(() => {
      /* never answers */
    });
    const { deliveryId } = await deliverOnce(h, rx);
    const started = Date.now();
    await until(
      async () => (await attemptsOf(h, deliveryId)).length >= 1,
      5000,
      () => "first attempt",
    );
    const [a] = await attemptsOf(h, deliveryId);
    expect(a.status).toBe("FAILED");
    expect(a.response_code).toBeNull();
    expect(a.error_message).toMatch(/Timed out after 400 ms/);
    expect(a.duration_ms).toBeGreaterThanOrEqual(390);
    expect(a.duration_ms).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("does not follow redirects: 3xx is a failure and the target sees nothing", async () => {
    const target = await receiver();
    const rx = await receiver();
    rx.handle((_req, res) => {
      res.writeHead(302, { location: target.url }).end();
    });
    const { deliveryId } = await deliverOnce(h, rx);
    const done = await waitForStatus(h, deliveryId, "FAILED");
    expect(done.attempt_count).toBe(4);
    const attempts = await attemptsOf(h, deliveryId);
    expect(attempts[0].response_code).toBe(302);
    expect(attempts[0].status).toBe("FAILED");
    expect(attempts[0].error_message).toContain("not followed");
    expect(target.requests).toHaveLength(0);
  });

  it("caps the recorded response body at maxResponseBytes (at, one past, and 1 MB)", async () => {
    const sizes = [1000, 1001, 1024 * 1024];
    const ids: string[] = [];
    const servers: Receiver[] = [];
    for (const size of sizes) {
      const rx = await receiver();
      servers.push(rx);
      rx.handle((_req, res) => {
        res.end("x".repeat(size));
      });
      ids.push((await deliverOnce(h, rx)).deliveryId);
    }
    for (const id of ids) await waitForStatus(h, id, "SUCCEEDED");
    const bodies = await Promise.all(ids.map(async (id) => (await attemptsOf(h, id))[0].response_body));
    expect(bodies.map((b: string) => b.length)).toEqual([1000, 1000, 1000]);
  });

  it("stores binary garbage in a response without breaking the write", async () => {
    const rx = await receiver();
    rx.handle((_req, res) => {
      res.end(Buffer.from([0x61, 0x00, 0xff, 0xfe, 0x62]));
    });
    const { deliveryId } = await deliverOnce(h, rx);
    await waitForStatus(h, deliveryId, "SUCCEEDED");
    const [a] = await attemptsOf(h, deliveryId);
    expect(a.response_body.startsWith("a")).toBe(true);
    expect(a.response_body).not.toContain("\0");
  });

  it("records connection failures as failed attempts with the reason", async () => {
    const rx = await receiver();
    const url = rx.url;
    await rx.close();
    await createEventType(h, "t.closed");
    const ep = await createEndpoint(h, url, { events: ["t.closed"] });
    const res = await publish(h, "t.closed", { closed: true });
    const [d] = await deliveriesOf(h, res.event.id);
    const done = await waitForStatus(h, d.id, "FAILED");
    expect(done.endpoint_id).toBe(ep.id);
    const [a] = await attemptsOf(h, d.id);
    expect(a.response_code).toBeNull();
    expect(a.error_message).toMatch(/ECONNREFUSED/);
  });
});

describe("auto-disable after continuous failure", () => {
  let h: TestHookgate;
  let rx: Receiver;
  beforeAll(async () => {
    h = await startTestHookgate({
      role: "all",
      config: { ...FAST, retryScheduleMs: [100, 100, 100, 100, 100, 100, 100], disableAfterMs: 300 },
    });
    rx = await startReceiver((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
  });
  afterAll(async () => {
    await h?.stop();
    await rx?.close();
  });

  it("disables an endpoint failing for disableAfter (reason FAILING) and cancels what was still queued", async () => {
    await createEventType(h, "t.fail");
    const ep = await createEndpoint(h, rx.url, { events: ["t.fail"] });
    const res = await publish(h, "t.fail", {});
    const [d] = await deliveriesOf(h, res.event.id);
    const done = await waitForStatus(h, d.id, "CANCELLED");
    expect(done.next_attempt_at).toBeNull();
    const rows = await h.hookgate.app.db.query<Record<string, any>>("SELECT * FROM endpoints WHERE id = $1", [
      ep.id,
    ]);
    expect(rows[0].status).toBe("DISABLED");
    expect(rows[0].disabled_reason).toBe("FAILING");
    // Attempts went on until the run of failures had lasted 300 ms, then stopped (how many fit in
    // that time depends on the machine's load; the span below is what disableAfter promises).
    const attempts = await attemptsOf(h, d.id);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThan(8);
    const span = rx.requests.at(-1)!.at - rx.requests[0].at;
    expect(span).toBeGreaterThanOrEqual(290);
  });
});
