import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  type Receiver,
  startReceiver,
  until,
} from "./delivery-fixtures.js";

/*
 * What receivers get: the payload's keys in the order they were published (as far as JSON
 * parsing of the GraphQL request keeps them: JavaScript objects list integer-like keys first),
 * still schema-validated; test events
 * marked by a top-level "test": true and a hookgate-test: 1 header, real ones by neither.
 */
describe("delivered as published; test events marked", () => {
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

  it("keeps key order (nested too) from the request to the receiver", async () => {
    await createEventType(h, "invoice.paid", {
      type: "object",
      properties: { amount: { type: "integer" } },
      required: ["amount"],
    });
    await createEndpoint(h, rx.url, { events: ["invoice.paid"] });
    // Sent as raw JSON text so that the order is exactly this on the wire.
    // (jsonb would store these keys shortest first: zeta, alpha, amount, invoiceId; and z before a.)
    const published = '{"invoiceId":"inv_1","amount":4200,"zeta":"z","alpha":{"z":1,"a":[{"y":1,"b":2}]}}';
    const body = `{"query":"mutation($p: JSON!) { publishEvent(input: { type: \\"invoice.paid\\", payload: $p }) { __typename ... on PublishEventPayload { event { id } } } }","variables":{"p":${published}}}`;
    const res = await fetch(h.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${h.adminKey}` },
      body,
    });
    const json = (await res.json()) as any;
    expect(json.data.publishEvent.__typename).toBe("PublishEventPayload");
    const [req] = await rx.waitFor(1);
    expect(req.body.endsWith(`,"data":${published}}`)).toBe(true);
    expect(req.headers["hookgate-test"]).toBeUndefined();
    expect(Object.keys(JSON.parse(req.body))).toEqual(["id", "type", "timestamp", "data"]);

    // Still validated against the schema.
    const bad = ok(
      await h.gql(
        'mutation { publishEvent(input: { type: "invoice.paid", payload: { amount: "x" } }) { __typename } }',
      ),
    );
    expect(bad.publishEvent.__typename).toBe("ValidationError");
  });

  it("testEndpoint: top-level test: true and hookgate-test: 1; data is the test payload", async () => {
    await createEventType(h, "invoice.paid");
    const ep = await createEndpoint(h, rx.url, { events: ["invoice.paid"] });
    const res = ok(
      await h.gql(
        `mutation($id: ID) { testEndpoint(id: $id, eventType: "invoice.paid") {
          __typename ... on TestEndpointPayload { delivery { id event { id test } } } } }`,
        { id: ep.id },
      ),
    );
    expect(res.testEndpoint.delivery.event.test).toBe(true);
    const [req] = await rx.waitFor(1);
    expect(req.headers["hookgate-test"]).toBe("1");
    const body = JSON.parse(req.body);
    expect(Object.keys(body)).toEqual(["id", "type", "timestamp", "test", "data"]);
    expect(body.test).toBe(true);
    expect(body.data.endpointId).toBe(ep.id);
    // The attempt row is written after the response (batched completions).
    const attempt = await until(() =>
      h.hookgate.app.prisma.attempt.findFirst({ where: { deliveryId: res.testEndpoint.delivery.id } }),
    );
    expect((attempt.requestHeaders as Record<string, string>)["hookgate-test"]).toBe("1");
  });
});
