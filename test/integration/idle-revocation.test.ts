/**
 * Revocation and expiry reach subscriptions that receive nothing: an idle graphql-ws socket of a revoked or
 * expired key is closed, and an idle SSE stream is ended with an UNAUTHENTICATED error, within the bound the
 * README states (two 2 s re-check windows plus one key read; the waits below allow more for a loaded machine).
 * Beside each, a subscription of a key that stays valid stays open and still receives updates, so the close
 * is the key's doing.
 */
import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { liveUpdates } from "../../src/domain/live.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  emitUpdate,
  type Received,
  signalFor,
  sseSubscribe,
  untilIdle,
  untilSubscribed,
  wsClient,
  wsSubscribe,
} from "./live-fixtures.js";
import { createKey, insertDelivery, insertEndpoint, insertEvent, rootTenant } from "./read-fixtures.js";

const UPDATES = "subscription { deliveryUpdated { delivery { id status } } }";
/** README: "within 5 seconds"; the wait allows the loaded CI machine more. */
const CLOSE_WAIT_MS = 12_000;

let h: TestHookgate;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  h = await startTestHookgate();
});
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  await untilIdle(liveUpdates(h.hookgate.app.db));
});
afterAll(async () => {
  await h?.stop();
});

async function freshKey(): Promise<{ key: string; id: string }> {
  const key = await createKey(h, (await rootTenant(h)).id, ["DELIVERIES_READ"]);
  const id = ok(await h.gql("{ viewer { keyId } }", {}, key)).viewer.keyId as string;
  return { key, id };
}

const revoke = async (id: string) =>
  ok(await h.gql("mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", { id }));

/** Makes the key expire `ms` from now (the API sets expiry only at creation). */
const expireIn = (id: string, ms: number) =>
  h.hookgate.app.prisma.apiKey.update({ where: { id }, data: { expiresAt: new Date(Date.now() + ms) } });

function openSocket(key: string): { client: Client; closed: Promise<{ code: number; reason: string }> } {
  const client = wsClient(h.graphqlUrl, key);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    client.on("closed", (e) => {
      const event = e as { code: number; reason: string };
      resolve({ code: event.code, reason: String(event.reason) });
    });
  });
  cleanups.push(() => client.dispose());
  return { client, closed };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref()),
  ]);
}

/** Proves a still-open subscription still works: an update sent now reaches it. */
async function expectStillDelivering(results: { take(n: number): Promise<Received[]> }, n: number) {
  const app = h.hookgate.app;
  const root = await rootTenant(h);
  const endpoint = await insertEndpoint(app, root.id);
  const event = await insertEvent(app, root.id, "idle.check");
  const delivery = await insertDelivery(app, event, endpoint, { status: "PENDING" });
  await emitUpdate(app.db, signalFor(delivery, root.path, "SENDING"));
  const got = await results.take(n);
  expect(got[n - 1]?.data?.deliveryUpdated.delivery.id).toBe(delivery.id);
}

describe("graphql-ws: an idle subscription's socket is closed", () => {
  for (const [what, invalidate, reason] of [
    ["revoked", (id: string) => revoke(id), "API key has been revoked"],
    ["expired", (id: string) => expireIn(id, 500), "API key has expired"],
  ] as const) {
    it(`when its key is ${what}, with a 44xx close code and the reason; a valid key's socket stays`, async () => {
      const doomed = await freshKey();
      const kept = await freshKey();
      const a = openSocket(doomed.key);
      const b = openSocket(kept.key);
      const idle = wsSubscribe(a.client, UPDATES);
      const live = wsSubscribe(b.client, UPDATES);
      await untilSubscribed(liveUpdates(h.hookgate.app.db), 2);

      await invalidate(doomed.id);
      const closed = await within(a.closed, CLOSE_WAIT_MS, `socket of the ${what} key to close`);
      expect(closed.code).toBeGreaterThanOrEqual(4400);
      expect(closed.code).toBeLessThan(4500);
      expect(closed.reason).toBe(reason);
      // It was idle: nothing was sent to it, so only the timer could have closed it.
      expect(idle.results.results).toEqual([]);
      // The other key's socket is open and working.
      await expectStillDelivering(live.results, 1);
    });
  }
});

describe("SSE: an idle subscription's stream is ended", () => {
  for (const [what, invalidate, reason] of [
    ["revoked", (id: string) => revoke(id), "API key has been revoked"],
    ["expired", (id: string) => expireIn(id, 500), "API key has expired"],
  ] as const) {
    it(`when its key is ${what}, with one UNAUTHENTICATED error naming why; a valid key's stream stays`, async () => {
      const doomed = await freshKey();
      const kept = await freshKey();
      const a = sseSubscribe(h.graphqlUrl, doomed.key, UPDATES);
      const b = sseSubscribe(h.graphqlUrl, kept.key, UPDATES);
      cleanups.push(a.close, b.close);
      expect(await a.status).toBe(200);
      expect(await b.status).toBe(200);
      await untilSubscribed(liveUpdates(h.hookgate.app.db), 2);

      await invalidate(doomed.id);
      await a.results.ended(CLOSE_WAIT_MS);
      expect(a.results.error).toBeNull();
      expect(a.results.results).toEqual([
        { errors: [expect.objectContaining({ message: reason, extensions: { code: "UNAUTHENTICATED" } })] },
      ]);

      expect(b.results.completed).toBe(false);
      await expectStillDelivering(b.results, 1);
    });
  }
});
