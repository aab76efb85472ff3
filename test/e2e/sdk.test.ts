import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  createHookgateClient,
  type HookgateClient,
  HookgateClientError,
  verifyWebhook,
} from "../../src/client/index.js";
import { FAST, type Receiver, startReceiver } from "../integration/delivery-fixtures.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// The generated SDK and its createClient wrapper, against a real Hookgate (API + dispatcher),
// a real receiver and a real graphql-ws subscription.
describe("typed client SDK", () => {
  let h: TestHookgate;
  let receiver: Receiver;
  let client: HookgateClient;

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: FAST });
    receiver = await startReceiver();
    client = createHookgateClient({ url: h.url, apiKey: h.adminKey, webSocketImpl: WebSocket });
  });
  afterAll(async () => {
    await client?.close();
    await receiver?.close();
    await h?.stop();
  });

  it("manages, publishes, streams and reads history through typed methods", async () => {
    const viewer = await client.Viewer();
    expect(viewer.viewer.scopes).toEqual(["ADMIN"]);

    const et = await client.CreateEventType({ input: { name: "sdk.ping" } });
    expect(et.createEventType.__typename).toBe("CreateEventTypePayload");

    const created = await client.CreateEndpoint({ input: { url: receiver.url, events: ["sdk.*"] } });
    if (created.createEndpoint.__typename !== "CreateEndpointPayload")
      throw new Error("createEndpoint failed");
    const { endpoint, secret } = created.createEndpoint;
    expect(secret).toMatch(/^whsec_/);

    const invalid = await client.CreateEndpoint({ input: { url: "ftp://nope", events: [] } });
    expect(invalid.createEndpoint.__typename).toBe("ValidationError");
    if (invalid.createEndpoint.__typename === "ValidationError") {
      expect(invalid.createEndpoint.fieldErrors.map((f) => f.path)).toEqual(
        expect.arrayContaining(["input.url", "input.events"]),
      );
    }

    // Subscribe first; wait until the server has registered it before publishing.
    const updates = client.DeliveryUpdated({ filter: { endpointId: endpoint.id } })[Symbol.asyncIterator]();
    const firstUpdate = updates.next();
    const { liveUpdates } = await import("../../src/domain/live.js");
    const deadline = Date.now() + 10_000;
    while (liveUpdates(h.hookgate.app.db).subscriberCount < 1) {
      if (Date.now() > deadline) throw new Error("subscription never became live");
      await new Promise((r) => setTimeout(r, 20));
    }

    const published = await client.PublishEvent({ input: { type: "sdk.ping", payload: { n: 1 } } });
    if (published.publishEvent.__typename !== "PublishEventPayload") throw new Error("publish failed");
    expect(published.publishEvent.deliveryCount).toBe(1);
    const eventId = published.publishEvent.event.id;

    const [req] = await receiver.waitFor(1);
    const verified = verifyWebhook({
      secret,
      headers: req!.headers as Record<string, string>,
      body: req!.body,
    });
    expect(verified.id).toBe(eventId);

    const seen: string[] = [];
    let next = await firstUpdate;
    while (!next.done) {
      seen.push(next.value.deliveryUpdated.delivery.status);
      if (next.value.deliveryUpdated.delivery.status === "SUCCEEDED") break;
      next = await updates.next();
    }
    await updates.return?.();
    expect(seen.at(-1)).toBe("SUCCEEDED");

    const history = await client.Deliveries({ filter: { eventId } });
    expect(history.deliveries.totalCount).toBe(1);
    const deliveryId = history.deliveries.edges[0]!.node.id;
    const detail = await client.Delivery({ id: deliveryId, attempts: 10 });
    expect(detail.delivery?.attempts.edges.map((e) => e.node.responseCode)).toEqual([200]);
  });

  it("raises HookgateClientError with the code for auth failures", async () => {
    const anonymous = createHookgateClient({ url: h.url, apiKey: "hk_wrong" });
    const err = await anonymous.Viewer().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookgateClientError);
    expect((err as HookgateClientError).code).toBe("UNAUTHENTICATED");
  });
});
