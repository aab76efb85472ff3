/**
 * Limits hold for the whole deployment: two dispatchers (two Database handles, as two processes have)
 * on one PostgreSQL send an endpoint at most its rateLimitPerSecond, and two API servers answer one key
 * at most HOOKGATE_API_RATE_LIMIT requests per second between them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Hookgate, startHookgate } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { createDispatcher, type Dispatcher } from "../../src/dispatcher/index.js";
import { TEST_DB } from "../support/db.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
} from "./delivery-fixtures.js";

describe.skipIf(TEST_DB !== "postgres")("limits across processes (one PostgreSQL)", () => {
  let h: TestHookgate | undefined;
  let other: { db: Database; hookgate: Hookgate } | undefined;
  const dispatchers: Dispatcher[] = [];
  let rx: Receiver | undefined;
  afterEach(async () => {
    for (const d of dispatchers.splice(0)) await d.stop();
    await other?.hookgate.stop();
    await other?.db.close();
    await h?.stop();
    await rx?.close();
    h = other = rx = undefined;
  });

  async function second(role: "api" | "dispatcher", config: Record<string, unknown>) {
    const db = await openDatabase({ databaseUrl: h!.database.url!, poolSize: 4 });
    const hookgate = await startHookgate(
      testConfig({
        ...h!.config,
        ...config,
        encryptionKey: h!.config.encryptionKey,
      }),
      { db, role, port: 0, host: "127.0.0.1" },
    );
    other = { db, hookgate };
    return other;
  }

  it("two dispatchers send an endpoint at most its rateLimitPerSecond between them", async () => {
    const RATE = 5;
    const EVENTS = 30;
    const tuning = { ...FAST, leaseMs: 30_000, dispatchBatchSize: 2, pollIntervalMs: 100 };
    h = await startTestHookgate({ role: "api", config: tuning });
    rx = await startReceiver();
    await createEventType(h, "a.b");
    await createEndpoint(h, rx.url, { events: ["a.b"], rateLimitPerSecond: RATE });
    for (let i = 0; i < EVENTS; i++) await publish(h, "a.b", { i });

    const b = await second("dispatcher", tuning);
    const a = createDispatcher(h.hookgate.app, { config: tuning });
    dispatchers.push(a);
    await a.start();
    await rx.waitFor(EVENTS, 30_000);
    // Both took part (the limit is not held by one process sending everything).
    expect(a.stats().attempts).toBeGreaterThan(0);
    expect(b.hookgate.dispatcher!.stats().attempts).toBeGreaterThan(0);
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"])).size).toBe(EVENTS);
    // 30 sends at 5 per one-second window need at least 6 windows: more than 4 s from first to last.
    // (Per process, each would allow 5 a second: the two together finished in about 2 s.)
    const times = rx.requests.map((r) => r.at);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(4_000);
  }, 90_000);

  it("two API servers answer one key at most HOOKGATE_API_RATE_LIMIT requests per second between them", async () => {
    const LIMIT = 4;
    h = await startTestHookgate({ role: "api", config: { apiRateLimitPerSecond: LIMIT } });
    const b = await second("api", { apiRateLimitPerSecond: LIMIT });
    const urls = [h.graphqlUrl, `${b.hookgate.server!.url}/graphql`];
    const results = await Promise.all(
      Array.from({ length: 4 * LIMIT }, async (_, i) => {
        const start = Date.now();
        const res = await fetch(urls[i % 2]!, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${h!.adminKey}` },
          body: JSON.stringify({ query: "{ viewer { keyId } }" }),
        });
        await res.text();
        return { status: res.status, start, end: Date.now() };
      }),
    );
    expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    expect(results.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    // A window is the second from the key's first take (this burst's first request, at the earliest):
    // requests answered within a second of the burst's start were all granted in that one window, so at
    // most LIMIT of them succeeded, whichever server answered. (Per process: LIMIT each, twice as many.)
    const first = Math.min(...results.map((r) => r.start));
    const early = results.filter((r) => r.end < first + 1000);
    expect(early.filter((r) => r.status === 200).length).toBeLessThanOrEqual(LIMIT);
  }, 60_000);
});
