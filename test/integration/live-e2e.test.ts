import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { Client } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import { liveUpdates } from "../../src/domain/live.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { sseSubscribe, untilIdle, untilSubscribed, wsClient, wsSubscribe } from "./live-fixtures.js";

const UPDATES = `subscription($filter: DeliveryFilter) {
  deliveryUpdated(filter: $filter) {
    delivery { id status eventId attemptCount }
    attempt { attemptNumber status responseCode trigger }
  }
}`;

/** A receiver on 127.0.0.1 that answers 200 and records what it got. */
async function startReceiver(): Promise<{
  url: string;
  got: IncomingHttpHeaders[];
  close: () => Promise<void>;
}> {
  const got: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      got.push(req.headers);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("deliveryUpdated end to end (API + dispatcher)", () => {
  let h: TestHookgate | undefined;
  let client: Client | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await client?.dispose();
    for (const close of closers.splice(0)) await close();
    if (h) await untilIdle(liveUpdates(h.hookgate.app.db));
    await h?.stop();
  });

  it("streams SENDING then SUCCEEDED with the attempt while a real receiver is called", async () => {
    h = await startTestHookgate({ role: "all" });
    const receiver = await startReceiver();
    closers.push(receiver.close);

    ok(
      await h.gql(
        `mutation { createEventType(input: { name: "invoice.paid" }) { ... on CreateEventTypePayload { eventType { id } } } }`,
      ),
    );
    const created = ok(
      await h.gql(
        `mutation($input: CreateEndpointInput!) {
          createEndpoint(input: $input) { ... on CreateEndpointPayload { endpoint { id } } ... on Error { message } }
        }`,
        { input: { url: receiver.url, events: ["invoice.paid"] } },
      ),
    );
    const endpointId: string = created.createEndpoint.endpoint.id;

    client = wsClient(h.graphqlUrl, h.adminKey);
    const ws = wsSubscribe(client, UPDATES, { filter: { endpointId } });
    const sse = sseSubscribe(h.graphqlUrl, h.adminKey, UPDATES, {
      filter: { endpointId, status: ["SUCCEEDED"] },
    });
    closers.push(sse.close);
    await untilSubscribed(liveUpdates(h.hookgate.app.db), 2);

    const published = ok(
      await h.gql(
        `mutation { publishEvent(input: { type: "invoice.paid", payload: { amount: 42 } }) {
          ... on PublishEventPayload { event { id } deliveryCount } ... on Error { message }
        } }`,
      ),
    );
    const eventId: string = published.publishEvent.event.id;
    expect(published.publishEvent.deliveryCount).toBe(1);

    // Collect until the SUCCEEDED update (bounded by take's timeout).
    let updates: any[] = [];
    for (let n = 1; !updates.some((u) => u.delivery.status === "SUCCEEDED"); n++) {
      updates = (await ws.results.take(n, 10_000)).map((r) => {
        expect(r.errors).toBeUndefined();
        return r.data.deliveryUpdated;
      });
    }
    const statuses = updates.map((u) => u.delivery.status);
    expect(statuses).toContain("SENDING");
    expect(statuses.indexOf("SENDING")).toBeLessThan(statuses.indexOf("SUCCEEDED"));
    expect(new Set(updates.map((u) => u.delivery.eventId))).toEqual(new Set([eventId]));
    const done = updates.at(-1);
    expect(done.delivery).toMatchObject({ status: "SUCCEEDED", attemptCount: 1 });
    expect(done.attempt).toEqual({
      attemptNumber: 1,
      status: "SUCCEEDED",
      responseCode: 200,
      trigger: "SCHEDULED",
    });
    expect(receiver.got).toHaveLength(1);
    expect(receiver.got[0]?.["webhook-id"]).toBe(eventId);

    // SSE with a status filter gets just the final update.
    const [viaSse] = await sse.results.take(1, 10_000);
    expect(viaSse?.data?.deliveryUpdated.delivery).toMatchObject({ status: "SUCCEEDED", eventId });
    expect(viaSse?.data?.deliveryUpdated.attempt).toMatchObject({ responseCode: 200 });

    // And the read side agrees.
    const read = ok(
      await h.gql(
        `query($id: ID!) { event(id: $id) { deliveries { totalCount edges { node { status attempts { totalCount } } } } } }`,
        { id: eventId },
      ),
    );
    expect(read.event.deliveries.totalCount).toBe(1);
    expect(read.event.deliveries.edges[0].node).toEqual({ status: "SUCCEEDED", attempts: { totalCount: 1 } });
  });
});
