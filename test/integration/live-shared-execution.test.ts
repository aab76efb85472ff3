import { parse } from "graphql";
import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { liveUpdates } from "../../src/domain/live.js";
import { schema } from "../../src/graphql/index.js";
import { sharedExecutionKey } from "../../src/graphql/live-execution.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  type Collector,
  emitUpdate,
  signalFor,
  untilIdle,
  untilSubscribed,
  wsClient,
  wsSubscribe,
} from "./live-fixtures.js";
import {
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
    attempt { id attemptNumber }
  }
}`;

/** Delivery.endpoint needs ENDPOINTS_READ on top of DELIVERIES_READ. */
const WITH_ENDPOINT = `subscription($filter: DeliveryFilter) {
  deliveryUpdated(filter: $filter) { delivery { id status endpoint { id url } } }
}`;

describe("deliveryUpdated shared by identical subscribers", () => {
  let h: TestHookgate;
  let s: Awaited<ReturnType<typeof seed>>;
  const clients: Client[] = [];

  async function seed() {
    const app = h.hookgate.app;
    const root = await rootTenant(h);
    const child = await createTenant(h, "child");
    const sibling = await createTenant(h, "sibling");
    const epA = await insertEndpoint(app, root.id);
    const epB = await insertEndpoint(app, root.id);
    const epC = await insertEndpoint(app, child.id);
    const epS = await insertEndpoint(app, sibling.id);
    const dA = await insertDelivery(app, await insertEvent(app, root.id, "invoice.paid"), epA);
    const dB = await insertDelivery(app, await insertEvent(app, root.id, "invoice.failed"), epB);
    const dC = await insertDelivery(app, await insertEvent(app, child.id, "invoice.paid"), epC);
    const dS = await insertDelivery(app, await insertEvent(app, sibling.id, "invoice.paid"), epS);
    const aA = await insertAttempt(app, dA, 1, "SUCCEEDED");
    return {
      root,
      child,
      sibling,
      epA,
      epB,
      epC,
      dA,
      dB,
      dC,
      dS,
      aA,
      rootReader: await createKey(h, root.id, ["DELIVERIES_READ"]),
      rootReader2: await createKey(h, root.id, ["DELIVERIES_READ"]),
      rootReaderWithEndpoints: await createKey(h, root.id, ["DELIVERIES_READ", "ENDPOINTS_READ"]),
      childReader: await createKey(h, child.id, ["DELIVERIES_READ"]),
      siblingReader: await createKey(h, sibling.id, ["DELIVERIES_READ", "ENDPOINTS_READ"]),
    };
  }

  const hub = () => liveUpdates(h.hookgate.app.db);
  const emit = (signal: Parameters<typeof emitUpdate>[1]) => emitUpdate(h.hookgate.app.db, signal);
  const client = (key: string, url = h.graphqlUrl) => {
    const c = wsClient(url, key);
    clients.push(c);
    return c;
  };
  const label = (r: { data?: any }) => {
    const d = r.data?.deliveryUpdated?.delivery;
    if (!d) return "none";
    const name = { [s.dA.id]: "A", [s.dB.id]: "B", [s.dC.id]: "C", [s.dS.id]: "S" }[d.id as string];
    return `${name ?? d.id}:${d.status}`;
  };
  const seen = async (sub: { results: Collector }, n: number) => (await sub.results.take(n)).map(label);

  beforeAll(async () => {
    h = await startTestHookgate();
    s = await seed();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.dispose();
    await untilIdle(hub());
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("(a) every subscriber with the same document in the same tenant receives each update", async () => {
    const subs = Array.from({ length: 6 }, (_, i) =>
      wsSubscribe(client(i % 2 ? s.rootReader : s.rootReader2), UPDATES, {
        filter: { endpointId: s.epA.id },
      }),
    );
    await untilSubscribed(hub(), subs.length);
    await emit(signalFor(s.dA, s.root.path, "SENDING"));
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED", s.aA.id));
    for (const sub of subs) {
      const [first, second] = await sub.results.take(2);
      expect(first?.errors).toBeUndefined();
      expect(first?.data?.deliveryUpdated).toEqual({
        delivery: {
          id: s.dA.id,
          status: "SENDING",
          attemptCount: 0,
          event: { id: s.dA.eventId, type: "invoice.paid" },
        },
        attempt: null,
      });
      expect(second?.data?.deliveryUpdated.delivery.status).toBe("SUCCEEDED");
      expect(second?.data?.deliveryUpdated.attempt).toEqual({ id: s.aA.id, attemptNumber: 1 });
    }
  });

  it("(b) tenants: same document and variables, each sees only its own subtree", async () => {
    const root = wsSubscribe(client(s.rootReader), UPDATES);
    const child = wsSubscribe(client(s.childReader), UPDATES);
    const sibling = wsSubscribe(client(s.siblingReader), UPDATES);
    // The same key and document, but exactly the root tenant: not its child.
    const rootOnly = wsSubscribe(client(s.rootReader), UPDATES, { filter: { tenantId: s.root.id } });
    // A tenant id the child key cannot see matches nothing.
    const foreignClient = client(s.childReader);
    const foreign = wsSubscribe(foreignClient, UPDATES, { filter: { tenantId: s.root.id } });
    // Beside it on the same socket: sees the child's updates, so its last one is the fence for `foreign`.
    const foreignFence = wsSubscribe(foreignClient, UPDATES);
    await untilSubscribed(hub(), 6);

    await emit(signalFor(s.dA, s.root.path, "SENDING"));
    await emit(signalFor(s.dS, s.sibling.path, "FAILED"));
    await emit(signalFor(s.dC, s.child.path, "SUCCEEDED"));
    // Updates of one subscription arrive in order: once the last is in, all earlier ones are.
    await emit(signalFor(s.dB, s.root.path, "RETRYING"));
    await emit(signalFor(s.dS, s.sibling.path, "RETRYING"));
    await emit(signalFor(s.dC, s.child.path, "RETRYING"));

    // Child and sibling are both the root's children: the root key sees the whole tree.
    expect(await seen(root, 6)).toEqual([
      "A:SENDING",
      "S:FAILED",
      "C:SUCCEEDED",
      "B:RETRYING",
      "S:RETRYING",
      "C:RETRYING",
    ]);
    expect(await seen(child, 2)).toEqual(["C:SUCCEEDED", "C:RETRYING"]);
    expect(await seen(sibling, 2)).toEqual(["S:FAILED", "S:RETRYING"]);
    expect(await seen(rootOnly, 2)).toEqual(["A:SENDING", "B:RETRYING"]);
    expect(root.results.results).toHaveLength(6);
    expect(child.results.results).toHaveLength(2);
    expect(sibling.results.results).toHaveLength(2);
    expect(rootOnly.results.results).toHaveLength(2);
    // The hub hands each signal to all its subscribers in turn and one socket's results go out in order: once
    // the fence has its last update, a leak to `foreign` would already be in.
    expect(await seen(foreignFence, 2)).toEqual(["C:SUCCEEDED", "C:RETRYING"]);
    expect(foreign.results.results).toHaveLength(0);
  });

  it("(b) variables: different filters on one document never get each other's updates", async () => {
    const a = wsSubscribe(client(s.rootReader), UPDATES, { filter: { endpointId: s.epA.id } });
    const b = wsSubscribe(client(s.rootReader), UPDATES, { filter: { endpointId: s.epB.id } });
    const failed = wsSubscribe(client(s.rootReader), UPDATES, { filter: { status: ["FAILED"] } });
    // Same filter as `a`, written inline: another document, same answers.
    const inline = wsSubscribe(
      client(s.rootReader),
      UPDATES.replace("($filter: DeliveryFilter)", "").replace(
        "(filter: $filter)",
        `(filter: { endpointId: "${s.epA.id}" })`,
      ),
    );
    await untilSubscribed(hub(), 4);
    await emit(signalFor(s.dA, s.root.path, "FAILED"));
    await emit(signalFor(s.dB, s.root.path, "SENDING"));
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED"));
    await emit(signalFor(s.dB, s.root.path, "FAILED"));

    expect(await seen(a, 2)).toEqual(["A:FAILED", "A:SUCCEEDED"]);
    expect(await seen(inline, 2)).toEqual(["A:FAILED", "A:SUCCEEDED"]);
    expect(await seen(b, 2)).toEqual(["B:SENDING", "B:FAILED"]);
    expect(await seen(failed, 2)).toEqual(["A:FAILED", "B:FAILED"]);
    expect(a.results.results).toHaveLength(2);
    expect(b.results.results).toHaveLength(2);
    expect(failed.results.results).toHaveLength(2);
  });

  it("(b) scopes: a key without ENDPOINTS_READ never gets the endpoint a key with it sees", async () => {
    // Both orders, so that whichever audience executes first, neither result leaks.
    const first = wsSubscribe(client(s.rootReaderWithEndpoints), WITH_ENDPOINT);
    const without = wsSubscribe(client(s.rootReader), WITH_ENDPOINT);
    const last = wsSubscribe(client(s.rootReaderWithEndpoints), WITH_ENDPOINT);
    await untilSubscribed(hub(), 3);
    await emit(signalFor(s.dA, s.root.path, "SENDING"));

    for (const sub of [first, last]) {
      const [r] = await sub.results.take(1);
      expect(r?.errors).toBeUndefined();
      expect(r?.data?.deliveryUpdated.delivery).toEqual({
        id: s.dA.id,
        status: "SENDING",
        endpoint: { id: s.epA.id, url: s.epA.url },
      });
    }
    const [denied] = await without.results.take(1);
    expect(denied?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(JSON.stringify(denied)).not.toContain(s.epA.url);
  });

  it("(b) keys: revoking one key closes its sockets only, while its twin's keep receiving", async () => {
    const twinKey = await createKey(h, s.root.id, ["DELIVERIES_READ"]);
    const doomedKey = await createKey(h, s.root.id, ["DELIVERIES_READ"]);
    const doomedId = (await h.gql("{ viewer { keyId } }", {}, doomedKey)).data.viewer.keyId as string;
    const twin = wsSubscribe(client(twinKey), UPDATES, { filter: { endpointId: s.epA.id } });
    const doomedClient = client(doomedKey);
    let closed: { code: number; reason: string } | null = null;
    doomedClient.on("closed", (e: any) => {
      closed = { code: e.code, reason: e.reason };
    });
    const doomed = wsSubscribe(doomedClient, UPDATES, { filter: { endpointId: s.epA.id } });
    await untilSubscribed(hub(), 2);
    await emit(signalFor(s.dA, s.root.path, "SENDING"));
    await twin.results.take(1);
    await doomed.results.take(1);

    await h.gql("mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", { id: doomedId });
    const deadline = Date.now() + 8_000;
    let sent = 1;
    while (!closed && Date.now() < deadline) {
      await emit(signalFor(s.dA, s.root.path, "RETRYING"));
      sent++;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(closed).toEqual({ code: 4401, reason: "API key has been revoked" });
    await emit(signalFor(s.dA, s.root.path, "SUCCEEDED"));
    const got = await twin.results.take(sent + 1);
    expect(got.at(-1)?.data?.deliveryUpdated.delivery.status).toBe("SUCCEEDED");
  });

  describe("(c) counted executions (the server's own metrics)", () => {
    const value = async (c: { get(): Promise<{ values: { value: number }[] }> }) =>
      (await c.get()).values[0]?.value ?? 0;
    let base = { executed: 0, shared: 0 };
    const reset = async () => {
      const { metrics } = h.hookgate.app;
      base = {
        executed: await value(metrics.subscriptionExecutions),
        shared: await value(metrics.subscriptionResultsShared),
      };
    };
    /** Executions and shared results since the last reset(). */
    const counts = async () => {
      const { metrics } = h.hookgate.app;
      return {
        executed: (await value(metrics.subscriptionExecutions)) - base.executed,
        shared: (await value(metrics.subscriptionResultsShared)) - base.shared,
      };
    };

    it("executes once per update for N identical subscribers, once per audience otherwise", async () => {
      const N = 12;
      const same = Array.from({ length: N }, () =>
        wsSubscribe(client(s.rootReader), UPDATES, { filter: { endpointId: s.epA.id } }),
      );
      // Other audiences that also match: another key (same tenant and scopes), other variables. The other
      // key's result is an execution of its own: the reference the shared results must equal.
      const otherKey = wsSubscribe(client(s.rootReader2), UPDATES, { filter: { endpointId: s.epA.id } });
      const otherVariables = wsSubscribe(client(s.rootReader), UPDATES, {
        filter: { eventType: "invoice.paid" },
      });
      await untilSubscribed(hub(), N + 2);
      await reset();

      await emit(signalFor(s.dA, s.root.path, "SENDING"));
      const [expected] = await otherKey.results.take(1);
      expect(expected?.data?.deliveryUpdated.delivery).toMatchObject({ id: s.dA.id, status: "SENDING" });
      for (const sub of [...same, otherVariables]) {
        const [r] = await sub.results.take(1);
        expect(r).toEqual(expected);
      }
      expect(await counts()).toEqual({ executed: 3, shared: N - 1 });

      // The next update is executed afresh (nothing is reused across updates).
      await h.hookgate.app.prisma.delivery.update({ where: { id: s.dA.id }, data: { attemptCount: 1 } });
      await emit(signalFor(s.dA, s.root.path, "SUCCEEDED", s.aA.id));
      for (const sub of same) {
        const [, r] = await sub.results.take(2);
        expect(r?.data?.deliveryUpdated).toMatchObject({
          delivery: { status: "SUCCEEDED", attemptCount: 1 },
          attempt: { id: s.aA.id },
        });
      }
      await otherKey.results.take(2);
      await otherVariables.results.take(2);
      expect(await counts()).toEqual({ executed: 6, shared: 2 * (N - 1) });
      await h.hookgate.app.prisma.delivery.update({ where: { id: s.dA.id }, data: { attemptCount: 0 } });
    });

    it("a subscriber leaving does not disturb the others of its audience", async () => {
      const subs = Array.from({ length: 4 }, () =>
        wsSubscribe(client(s.rootReader), UPDATES, { filter: { endpointId: s.epA.id } }),
      );
      await untilSubscribed(hub(), 4);
      await reset();
      await emit(signalFor(s.dA, s.root.path, "SENDING"));
      for (const sub of subs) await sub.results.take(1);
      subs[0]!.unsubscribe();
      // Gone on the server too, so the next update is not executed for it.
      for (let i = 0; hub().subscriberCount > 3 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
      expect(hub().subscriberCount).toBe(3);
      await emit(signalFor(s.dA, s.root.path, "SUCCEEDED"));
      for (const sub of subs.slice(1)) {
        expect((await seen(sub, 2))[1]).toBe("A:SUCCEEDED");
      }
      expect(subs[0]!.results.results).toHaveLength(1);
      expect(await counts()).toEqual({ executed: 2, shared: 3 + 2 });
      for (const sub of subs.slice(1)) sub.unsubscribe();
    });

    it("scope audiences stay apart", async () => {
      const withEndpoints = wsSubscribe(client(s.rootReaderWithEndpoints), WITH_ENDPOINT);
      const without = wsSubscribe(client(s.rootReader), WITH_ENDPOINT);
      await untilSubscribed(hub(), 2);
      await reset();
      await emit(signalFor(s.dA, s.root.path, "SENDING"));
      const [ok] = await withEndpoints.results.take(1);
      const [denied] = await without.results.take(1);
      expect(ok?.data?.deliveryUpdated.delivery.endpoint).toEqual({ id: s.epA.id, url: s.epA.url });
      expect(denied?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(JSON.stringify(denied)).not.toContain(s.epA.url);
      expect(await counts()).toEqual({ executed: 2, shared: 0 });
    });
  });

  it("the audience key separates what can differ and nothing else", () => {
    const actor = {
      keyId: "key_1",
      tenantId: "ten_1",
      tenantPath: "/ten_1/",
      scopes: ["DELIVERIES_READ", "ENDPOINTS_READ"],
    };
    const base = {
      schema,
      document: parse(UPDATES),
      variableValues: { filter: { endpointId: "ep_1" } },
      contextValue: { actor },
    } as const;
    const key = (over: Record<string, unknown>) => sharedExecutionKey({ ...base, ...over } as any);
    const k = key({});
    expect(k).not.toBeNull();
    // Same document text parsed twice, variables equal once coerced, scopes in another order.
    expect(key({ document: parse(UPDATES) })).toBe(k);
    expect(
      key({
        contextValue: {
          actor: { ...actor, scopes: ["ENDPOINTS_READ", "DELIVERIES_READ"] },
          requestId: "other",
        },
      }),
    ).toBe(k);
    for (const other of [
      { variableValues: { filter: { endpointId: "ep_2" } } },
      { document: parse(WITH_ENDPOINT) },
      { contextValue: { actor: { ...actor, keyId: "key_2" } } },
      { contextValue: { actor: { ...actor, tenantId: "ten_2", tenantPath: "/ten_2/" } } },
      { contextValue: { actor: { ...actor, scopes: ["DELIVERIES_READ"] } } },
      { contextValue: { actor: { ...actor, scopes: ["DELIVERIES_READ", "ENDPOINTS_READ", "ADMIN"] } } },
    ]) {
      expect(key(other)).not.toBe(k);
    }
    // Not shared at all: no actor, invalid variables, not a subscription.
    expect(key({ contextValue: { actor: null } })).toBeNull();
    expect(key({ variableValues: { filter: { status: ["NOPE"] } } })).toBeNull();
    expect(key({ document: parse("{ viewer { keyId } }") })).toBeNull();
  });
});
