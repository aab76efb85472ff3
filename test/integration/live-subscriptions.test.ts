import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { liveUpdates } from "../../src/domain/live.js";
import { TEST_DB } from "../support/db.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  type Collector,
  emitUpdate,
  signalFor,
  sseSubscribe,
  untilIdle,
  untilSubscribed,
  wsClient,
  wsSubscribe,
} from "./live-fixtures.js";
import {
  countPrismaOperations,
  createKey,
  createTenant,
  insertAttempt,
  insertDelivery,
  insertEndpoint,
  insertEvent,
  rootTenant,
} from "./read-fixtures.js";

const UPDATES = `subscription($filter: DeliveryFilter) {
  deliveryUpdated(filter: $filter) {
    delivery { id status attemptCount event { id type } }
    attempt { id attemptNumber status responseCode }
  }
}`;

describe("deliveryUpdated", () => {
  let h: TestHookgate;
  let s: Awaited<ReturnType<typeof seed>>;
  const clients: Client[] = [];
  const closers: (() => Promise<void>)[] = [];

  async function seed() {
    const app = h.hookgate.app;
    const root = await rootTenant(h);
    const child = await createTenant(h, "child");
    const sibling = await createTenant(h, "sibling");
    const epA = await insertEndpoint(app, root.id);
    const epB = await insertEndpoint(app, root.id);
    const epC = await insertEndpoint(app, child.id);
    const epS = await insertEndpoint(app, sibling.id);
    const evRoot = await insertEvent(app, root.id, "invoice.paid");
    const evOther = await insertEvent(app, root.id, "invoice.failed");
    const evChild = await insertEvent(app, child.id, "invoice.paid");
    const evSibling = await insertEvent(app, sibling.id, "invoice.paid");
    const dA = await insertDelivery(app, evRoot, epA, { status: "SUCCEEDED" });
    const dB = await insertDelivery(app, evOther, epB, { status: "RETRYING" });
    const dC = await insertDelivery(app, evChild, epC, { status: "PENDING" });
    const dS = await insertDelivery(app, evSibling, epS, { status: "FAILED" });
    await app.prisma.delivery.update({ where: { id: dA.id }, data: { attemptCount: 1 } });
    const aA = await insertAttempt(app, dA, 1, "SUCCEEDED");
    return {
      root,
      child,
      sibling,
      epA,
      epB,
      epC,
      epS,
      evRoot,
      dA,
      dB,
      dC,
      dS,
      aA,
      childKey: await createKey(h, child.id, ["DELIVERIES_READ"]),
      endpointsOnlyKey: await createKey(h, root.id, ["ENDPOINTS_READ"]),
    };
  }

  const hub = () => liveUpdates(h.hookgate.app.db);
  const emit = (signal: Parameters<typeof emitUpdate>[1]) => emitUpdate(h.hookgate.app.db, signal);
  const client = (key = h.adminKey) => {
    const c = wsClient(h.graphqlUrl, key);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    h = await startTestHookgate();
    s = await seed();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.dispose();
    for (const close of closers.splice(0)) await close();
    // Every test leaves the process with no subscriber and no LISTEN.
    await untilIdle(hub());
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("streams an update over graphql-ws with the delivery, its event and the attempt", async () => {
    const sub = wsSubscribe(client(), UPDATES);
    await untilSubscribed(hub(), 1);
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED", s.aA.id));
    const [update] = await sub.results.take(1);
    expect(update?.errors).toBeUndefined();
    expect(update?.data?.deliveryUpdated).toEqual({
      delivery: {
        id: s.dA.id,
        status: "SUCCEEDED",
        attemptCount: 1,
        event: { id: s.evRoot.id, type: "invoice.paid" },
      },
      attempt: { id: s.aA.id, attemptNumber: 1, status: "SUCCEEDED", responseCode: 200 },
    });

    // A later update of the same delivery reads the row afresh, and reports its own status.
    await h.hookgate.app.prisma.delivery.update({ where: { id: s.dA.id }, data: { attemptCount: 2 } });
    await emit(signalFor(s.dA, s.root.path, "RETRYING"));
    const [, second] = await sub.results.take(2);
    expect(second?.data?.deliveryUpdated.delivery).toMatchObject({ status: "RETRYING", attemptCount: 2 });
    expect(second?.data?.deliveryUpdated.attempt).toBeNull();
  });

  it("filters by endpoint, status and event type, and never crosses tenants", async () => {
    const byEndpoint = wsSubscribe(client(), UPDATES, { filter: { endpointId: s.epA.id } });
    const byStatus = wsSubscribe(client(), UPDATES, { filter: { status: "FAILED" } });
    const byType = wsSubscribe(client(), UPDATES, { filter: { eventType: "invoice.failed" } });
    const childOnly = wsSubscribe(client(s.childKey), UPDATES);
    // An invisible tenant id is not an error: it just matches nothing.
    const foreignClient = client(s.childKey);
    const foreign = wsSubscribe(foreignClient, UPDATES, { filter: { tenantId: s.root.id } });
    // Beside it on the same socket: sees the child's updates, so its last one is the fence for `foreign`.
    const foreignFence = wsSubscribe(foreignClient, UPDATES);
    // Exactly the root tenant's: not its children's.
    const rootOnly = wsSubscribe(client(), UPDATES, { filter: { tenantId: s.root.id } });
    await untilSubscribed(hub(), 7);

    await emit(signalFor(s.dB, s.root.path, "SUCCEEDED"));
    await emit(signalFor(s.dS, s.sibling.path, "FAILED"));
    await emit(signalFor(s.dA, s.root.path, "FAILED"));
    await emit(signalFor(s.dC, s.child.path, "SUCCEEDED"));
    // One last update for each subscriber: updates of a subscription arrive in order, so once
    // it is in, everything the subscriber was going to get before it is in too.
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED"));
    await emit(signalFor(s.dB, s.root.path, "FAILED"));
    await emit(signalFor(s.dC, s.child.path, "RETRYING"));

    const seen = async (sub: { results: Collector }, n: number) =>
      (await sub.results.take(n)).map((r) => {
        const d = r.data?.deliveryUpdated.delivery;
        return `${d.id === s.dA.id ? "A" : d.id === s.dB.id ? "B" : d.id === s.dC.id ? "C" : "S"}:${d.status}`;
      });
    expect(await seen(byEndpoint, 2)).toEqual(["A:FAILED", "A:SUCCEEDED"]);
    expect(await seen(byStatus, 3)).toEqual(["S:FAILED", "A:FAILED", "B:FAILED"]);
    expect(await seen(byType, 2)).toEqual(["B:SUCCEEDED", "B:FAILED"]);
    expect(await seen(childOnly, 2)).toEqual(["C:SUCCEEDED", "C:RETRYING"]);
    expect(await seen(rootOnly, 4)).toEqual(["B:SUCCEEDED", "A:FAILED", "A:SUCCEEDED", "B:FAILED"]);
    expect(byEndpoint.results.results).toHaveLength(2);
    expect(byStatus.results.results).toHaveLength(3);
    expect(childOnly.results.results).toHaveLength(2);
    expect(rootOnly.results.results).toHaveLength(4);
    // Every update was pushed to every matching subscriber before the fence's last one (the hub hands each
    // signal to all its subscribers in turn), and one socket's results go out in order: once the fence has
    // its last update, a leak to `foreign` would already be in.
    expect(await seen(foreignFence, 2)).toEqual(["C:SUCCEEDED", "C:RETRYING"]);
    expect(foreign.results.results).toHaveLength(0);
  });

  it("filters by event id (looked up once per update)", async () => {
    const sub = wsSubscribe(client(), UPDATES, { filter: { eventId: s.evRoot.id } });
    await untilSubscribed(hub(), 1);
    await emit(signalFor(s.dB, s.root.path, "SUCCEEDED"));
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED"));
    const [first] = await sub.results.take(1);
    expect(first?.data?.deliveryUpdated.delivery.id).toBe(s.dA.id);
  });

  it("streams the same updates over SSE", async () => {
    const sse = sseSubscribe(h.graphqlUrl, h.adminKey, UPDATES, { filter: { endpointId: s.epA.id } });
    closers.push(sse.close);
    expect(await sse.status).toBe(200);
    await untilSubscribed(hub(), 1);
    await emit(signalFor(s.dB, s.root.path, "SUCCEEDED"));
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED", s.aA.id));
    const [update] = await sse.results.take(1);
    expect(update?.data?.deliveryUpdated.delivery).toMatchObject({ id: s.dA.id, status: "SUCCEEDED" });
    expect(update?.data?.deliveryUpdated.attempt).toMatchObject({ id: s.aA.id });
    await sse.close();
    closers.length = 0;
  });

  it("requires DELIVERIES_READ and refuses since/until", async () => {
    const forbidden = wsSubscribe(client(s.endpointsOnlyKey), UPDATES);
    const [denied] = await forbidden.results.take(1);
    expect(denied?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const timed = wsSubscribe(client(), UPDATES, { filter: { since: new Date().toISOString() } });
    const [refused] = await timed.results.take(1);
    expect(refused?.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");

    const sse = sseSubscribe(h.graphqlUrl, s.endpointsOnlyKey, UPDATES);
    closers.push(sse.close);
    const [sseDenied] = await sse.results.take(1);
    expect(sseDenied?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("loads the rows once per update for many subscribers with the same selection", async () => {
    const subs = Array.from({ length: 20 }, () => wsSubscribe(client(), UPDATES));
    await untilSubscribed(hub(), 20);
    const counter = countPrismaOperations(h.hookgate.app);
    try {
      await emit(signalFor(s.dA, s.root.path, "SUCCEEDED", s.aA.id));
      for (const sub of subs) {
        const [u] = await sub.results.take(1);
        expect(u?.data?.deliveryUpdated.attempt.id).toBe(s.aA.id);
      }
      const loads = [...counter.ops];
      // One delivery (with its event included) and one attempt, for all 20.
      expect(loads.sort()).toEqual(["Attempt.findUnique", "Delivery.findUnique"]);
    } finally {
      counter.restore();
    }
  });

  it("stops listening when the last subscriber leaves, and starts again for the next", async () => {
    const first = wsSubscribe(client(), UPDATES);
    await untilSubscribed(hub(), 1);
    expect(hub().isListening).toBe(true);
    first.unsubscribe();
    await untilIdle(hub());

    const again = wsSubscribe(client(), UPDATES);
    await untilSubscribed(hub(), 1);
    await emit(signalFor(s.dB, s.root.path, "RETRYING"));
    const [u] = await again.results.take(1);
    expect(u?.data?.deliveryUpdated.delivery).toMatchObject({ id: s.dB.id, status: "RETRYING" });
    // Nothing arrives twice although a listener was torn down and another started.
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED"));
    const [, next] = await again.results.take(2);
    expect(next?.data?.deliveryUpdated.delivery.id).toBe(s.dA.id);
  });

  it.skipIf(TEST_DB !== "postgres")("receives updates NOTIFYed by another process's connection", async () => {
    const other = await openDatabase({ databaseUrl: h.database.url! });
    closers.push(() => other.close());
    const sub = wsSubscribe(client(), UPDATES, { filter: { endpointId: s.epC.id } });
    await untilSubscribed(hub(), 1);
    await emitUpdate(other, signalFor(s.dC, s.child.path, "SENDING"));
    const [u] = await sub.results.take(1);
    expect(u?.data?.deliveryUpdated.delivery).toMatchObject({ id: s.dC.id, status: "SENDING" });
  });
});
