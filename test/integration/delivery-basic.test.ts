import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  attemptsOf,
  createEndpoint,
  createEventType,
  deliveriesOf,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  waitForStatus,
} from "./delivery-fixtures.js";

describe("delivery: signed envelope to a real receiver", () => {
  let h: TestHookgate;
  let rx: Receiver;
  beforeEach(async () => {
    h = await startTestHookgate({ role: "all", config: { ...FAST } });
    rx = await startReceiver();
  });
  afterEach(async () => {
    await h?.stop();
    await rx?.close();
  });

  it("delivers the envelope with both signatures, custom headers and a user agent, and records the attempt", async () => {
    // The receiver takes 150 ms to answer, so the recorded duration has a floor to check.
    rx.handle(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 150));
      res.end("ok");
    });
    await createEventType(h, "invoice.paid");
    const ep = await createEndpoint(h, rx.url, {
      events: ["invoice.*"],
      headers: [
        { name: "Authorization", value: "Bearer receiver-token-123" },
        { name: "X-Tenant", value: "acme" },
      ],
    });
    const published = await publish(h, "invoice.paid", { amount: 4200, currency: "EUR", lines: [1, 2] });
    expect(published.__typename).toBe("PublishEventPayload");
    expect(published.deliveryCount).toBe(1);
    const event = published.event;

    const [req] = await rx.waitFor(1);
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["user-agent"]).toMatch(/^Hookgate\/\d+\.\d+\.\d+/);
    expect(req.headers.authorization).toBe("Bearer receiver-token-123");
    expect(req.headers["x-tenant"]).toBe("acme");
    expect(req.headers["webhook-id"]).toBe(event.id);

    const body = JSON.parse(req.body);
    expect(body).toEqual({
      id: event.id,
      type: "invoice.paid",
      timestamp: event.createdAt,
      data: { amount: 4200, currency: "EUR", lines: [1, 2] },
    });
    expect(Object.keys(body)).toEqual(["id", "type", "timestamp", "data"]);

    // Standard Webhooks, checked with the independent reference library.
    const verified = new Webhook(ep.secret).verify(req.body, {
      "webhook-id": String(req.headers["webhook-id"]),
      "webhook-timestamp": String(req.headers["webhook-timestamp"]),
      "webhook-signature": String(req.headers["webhook-signature"]),
    });
    expect(verified).toEqual(body);
    // A tampered body must not verify.
    expect(() =>
      new Webhook(ep.secret).verify(req.body.replace("4200", "4201"), {
        "webhook-id": String(req.headers["webhook-id"]),
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      }),
    ).toThrow();

    // t=,v1= form keyed with the secret string.
    const hg = String(req.headers["hookgate-signature"]);
    const t = /^t=(\d+),/.exec(hg)![1];
    expect(t).toBe(String(req.headers["webhook-timestamp"]));
    const expected = createHmac("sha256", ep.secret).update(`${t}.${req.body}`).digest("hex");
    expect(hg).toBe(`t=${t},v1=${expected}`);

    const [dlv] = await deliveriesOf(h, event.id);
    const done = await waitForStatus(h, dlv.id, "SUCCEEDED");
    expect(done.next_attempt_at).toBeNull();
    expect(done.locked_by).toBeNull();
    expect(done.attempt_count).toBe(1);
    const attempts = await attemptsOf(h, dlv.id);
    expect(attempts).toHaveLength(1);
    const a = attempts[0];
    expect(a).toMatchObject({
      attempt_number: 1,
      status: "SUCCEEDED",
      trigger: "SCHEDULED",
      response_code: 200,
      response_body: "ok",
      url: rx.url,
      error_message: null,
      // Not copied into the attempt row: the API rebuilds the envelope from the event...
      request_body: null,
    });
    // ...byte for byte what the receiver got.
    const viaApi = ok(
      await h.gql(
        `query($d: ID!) { attempts(filter: { deliveryId: $d }) { edges { node { requestBody } } } }`,
        {
          d: dlv.id,
        },
      ),
    );
    expect(viaApi.attempts.edges[0].node.requestBody).toBe(req.body);
    expect(a.duration_ms).toBeGreaterThanOrEqual(150);
    // Sensitive values are never stored: not the receiver's token, not the signatures.
    expect(a.request_headers.authorization).toBe("[REDACTED]");
    expect(a.request_headers["webhook-signature"]).toBe("[REDACTED]");
    expect(a.request_headers["x-tenant"]).toBe("acme");
    expect(JSON.stringify(a.request_headers)).not.toContain("receiver-token-123");
    expect(JSON.stringify(a)).not.toContain(ep.secret);
  });

  it("an endpoint's changed custom headers apply from its next delivery (the dispatcher's per-endpoint template is rebuilt)", async () => {
    await createEventType(h, "header.change");
    const ep = await createEndpoint(h, rx.url, {
      events: ["header.change"],
      headers: [
        { name: "X-Version", value: "one" },
        { name: "X-Api-Key", value: "key-one" },
      ],
    });
    await publish(h, "header.change", { n: 1 });
    const [first] = await rx.waitFor(1);
    expect(first.headers["x-version"]).toBe("one");
    expect(first.headers["x-api-key"]).toBe("key-one");

    const res = ok(
      await h.gql(
        `mutation ($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { __typename } }`,
        {
          id: ep.id,
          input: {
            headers: [
              { name: "X-Version", value: "two" },
              { name: "X-Api-Key", value: "key-two" },
            ],
          },
        },
      ),
    );
    expect(res.updateEndpoint.__typename).toBe("UpdateEndpointPayload");
    const second = await publish(h, "header.change", { n: 2 });
    const [, req] = await rx.waitFor(2);
    expect(req.headers["x-version"]).toBe("two");
    expect(req.headers["x-api-key"]).toBe("key-two");
    // Still signed (the template's signer came along), and recorded with the new values, the key redacted.
    expect(
      new Webhook(ep.secret).verify(req.body, {
        "webhook-id": String(req.headers["webhook-id"]),
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      }),
    ).toBeTruthy();
    const [dlv] = await deliveriesOf(h, second.event.id);
    await waitForStatus(h, dlv.id, "SUCCEEDED");
    const [a] = await attemptsOf(h, dlv.id);
    expect(a.request_headers["x-version"]).toBe("two");
    expect(a.request_headers["x-api-key"]).toBe("[REDACTED]");
    expect(a.request_headers["webhook-id"]).toBe(second.event.id);
    expect(a.request_headers["webhook-signature"]).toBe("[REDACTED]");
  });

  it("delivers only to endpoints whose filter matches (exact, prefix.*, *)", async () => {
    await createEventType(h, "a.b.c");
    const rx2 = await startReceiver();
    const rx3 = await startReceiver();
    try {
      await createEndpoint(h, rx.url, { events: ["a.*"] });
      await createEndpoint(h, rx2.url, { events: ["a.b.*"] });
      await createEndpoint(h, rx3.url, { events: ["a.b.c"] });
      const other = await startReceiver();
      try {
        await createEventType(h, "x.y");
        await createEventType(h, "a.b");
        await createEndpoint(h, other.url, { events: ["x.*", "a.b"] });
        const res = await publish(h, "a.b.c", { n: 1 });
        expect(res.deliveryCount).toBe(3);
        await Promise.all([rx.waitFor(1), rx2.waitFor(1), rx3.waitFor(1)]);
        // Give a wrongly matched delivery the chance to arrive before asserting it did not.
        const [dlvs] = [await deliveriesOf(h, res.event.id)];
        for (const d of dlvs) await waitForStatus(h, d.id, "SUCCEEDED");
        expect(other.requests).toHaveLength(0);
      } finally {
        await other.close();
      }
    } finally {
      await rx2.close();
      await rx3.close();
    }
  });
});
