/**
 * Database outages on a real PostgreSQL of the test's own, stopped and started mid-test: the
 * listener reconnects for as long as it takes, /ready tells, requests fail fast with a typed
 * retryable error (never a driver message or the database's address), and open subscriptions
 * survive and receive updates afterwards.
 */
import { randomBytes } from "node:crypto";
import { type Client, createClient } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Hookgate, startHookgate } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { liveUpdates } from "../../src/domain/live.js";
import { TEST_DB } from "../support/db.js";
import { type FaultCluster, startFaultCluster, until } from "../support/pg-faults.js";
import { untilSubscribed, wsSubscribe } from "./live-fixtures.js";

const UPDATES = `subscription { deliveryUpdated { delivery { id status } } }`;

interface Running {
  cluster: FaultCluster;
  db: Database;
  hookgate: Hookgate;
  url: string;
  key: string;
  gql(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; text: string; body: any }>;
}

async function start(): Promise<Running> {
  const cluster = await startFaultCluster();
  const db = await openDatabase({ databaseUrl: cluster.url, poolSize: 4 });
  const config = testConfig({
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    encryptionKey: randomBytes(32),
    allowInsecureUrls: true,
    apiRateLimitPerSecond: 0,
    authFailureLimitPerMinute: 0,
  });
  const hookgate = await startHookgate(config, { db, role: "api" });
  const url = hookgate.server!.url;
  const key = hookgate.firstAdminKey!;
  return {
    cluster,
    db,
    hookgate,
    url,
    key,
    async gql(query, variables) {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
        // Bounded: an outage must be answered, not waited out.
        signal: AbortSignal.timeout(4_000),
      });
      const text = await res.text();
      return { status: res.status, text, body: JSON.parse(text) };
    },
  };
}

async function stopAll(r: Running | undefined, clients: Client[]): Promise<void> {
  for (const c of clients.splice(0)) await c.dispose();
  if (!r) return;
  try {
    await r.hookgate.stop();
    await r.db.close();
  } finally {
    await r.cluster.close();
  }
}

function client(r: Running, retryAttempts = 0, key = r.key): Client {
  return createClient({
    url: `${r.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts,
    lazy: true,
  });
}

/** An endpoint (never called: this process runs no dispatcher) and a publish that updates it. */
async function endpoint(r: Running): Promise<void> {
  const et = await r.gql(`mutation { createEventType(input: { name: "a.b" }) { __typename } }`);
  expect(et.body.errors).toBeUndefined();
  const ep = await r.gql(`mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { __typename } }`, {
    i: { url: "http://127.0.0.1:9/hook", events: ["a.b"] },
  });
  expect(ep.body.data.createEndpoint.__typename).toBe("CreateEndpointPayload");
}

const publish = (r: Running) =>
  r.gql(`mutation { publishEvent(input: { type: "a.b", payload: {} }) { __typename } }`);

async function ready(r: Running): Promise<{ status: number; body: any }> {
  const res = await fetch(`${r.url}/ready`, { signal: AbortSignal.timeout(4_000) });
  return { status: res.status, body: await res.json() };
}

/** Nothing of the driver reaches a client: no address, port or driver wording. */
function expectNoDriverText(text: string, r: Running): void {
  const port = new URL(r.cluster.url).port;
  expect(text).not.toContain(port);
  expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|terminat|shutting down|Prisma|invocation/i);
}

describe.skipIf(TEST_DB !== "postgres")("database outages (real PostgreSQL stopped and started)", () => {
  let r: Running | undefined;
  const clients: Client[] = [];
  afterEach(async () => {
    await stopAll(r, clients);
    r = undefined;
  });

  it("during an outage: UNAVAILABLE/503 at once, /ready 503, new sockets closed 1013; all well after", async () => {
    r = await start();
    await endpoint(r);
    expect((await ready(r)).status).toBe(200);
    // A key this process has not checked yet, so not in its API-key cache: its socket needs the database.
    const made = await r.gql(
      `mutation { createApiKey(input: { name: "late", scopes: [DELIVERIES_READ] }) { ... on CreateApiKeyPayload { key } } }`,
    );
    const lateKey = made.body.data.createApiKey.key as string;

    await r.cluster.stop("fast");

    // Requests fail fast with the typed, retryable error. (A read of the database: `viewer` alone may be
    // answered from the API-key cache, HOOKGATE_API_KEY_CACHE_MS, without one.)
    const during = await r.gql(`{ endpoints(first: 1) { totalCount } }`);
    expect(during.status).toBe(503);
    expect(during.body.errors).toHaveLength(1);
    expect(during.body.errors[0].extensions.code).toBe("UNAVAILABLE");
    expect(during.body.errors[0].message).toMatch(/retry later/);
    expectNoDriverText(during.text, r);
    const write = await publish(r);
    expect(write.status).toBe(503);
    expect(write.body.errors[0].extensions.code).toBe("UNAVAILABLE");
    expectNoDriverText(write.text, r);

    // /ready: 503 while the database is away, saying why (and nothing of the driver).
    await until("/ready to answer 503", async () => (await ready(r!)).status === 503);
    const down = await ready(r);
    expect(down.body.status).toBe("database unreachable");
    expect(down.body.database.reachable).toBe(false);
    expectNoDriverText(JSON.stringify(down.body), r);

    // A new WebSocket is closed with a code graphql-ws clients reconnect on (1013).
    const late = client(r, 0, lateKey);
    clients.push(late);
    const refused = wsSubscribe(late, UPDATES);
    await refused.results.ended(5_000);
    expect((refused.results.error as { code?: number }).code).toBe(1013);

    await r.cluster.start();
    await until("/ready to answer 200", async () => (await ready(r!)).status === 200, 10_000);
    const back = await publish(r);
    expect(back.status).toBe(200);
    expect(back.body.data.publishEvent.__typename).toBe("PublishEventPayload");
  }, 60_000);

  it("LISTEN reconnects after a 20 s outage (longer than the old retry budget): subscriptions opened before and after get updates", async () => {
    r = await start();
    await endpoint(r);
    const hub = liveUpdates(r.db);
    const before = client(r);
    clients.push(before);
    const early = wsSubscribe(before, UPDATES);
    await untilSubscribed(hub, 1);

    await r.cluster.stop("immediate");
    await until("/ready to answer 503", async () => (await ready(r!)).status === 503);
    // Longer than the old reconnect budget (8 tries, ~16 s).
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    await r.cluster.start();

    await until("/ready to answer 200", async () => (await ready(r!)).status === 200, 10_000);
    const after = client(r);
    clients.push(after);
    const opened = wsSubscribe(after, UPDATES);
    await untilSubscribed(hub, 2);
    expect((await publish(r)).status).toBe(200);
    const [fromEarly] = await early.results.take(1, 10_000);
    const [fromLate] = await opened.results.take(1, 10_000);
    expect(fromEarly!.data.deliveryUpdated.delivery.status).toBe("PENDING");
    expect(fromLate!.data.deliveryUpdated.delivery.status).toBe("PENDING");
    expect(r.db.health()).toEqual({ reachable: true, listening: true });
  }, 90_000);

  it("a key re-check while the database refuses connections keeps the last good answer", async () => {
    r = await start();
    const hub = liveUpdates(r.db);
    const ws = client(r);
    clients.push(ws);
    // __typename needs no row: the update is sent even while no query can run.
    const sub = wsSubscribe(ws, `subscription { deliveryUpdated { __typename } }`);
    await untilSubscribed(hub, 1);
    // Past the re-check window (2 s): the next result re-checks the key.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const root = (await r.cluster.sql<{ path: string }>("SELECT path FROM tenants LIMIT 1"))[0]!.path;
    const signal = JSON.stringify({ d: "dlv_x", a: null, t: root, e: "ep_x", y: "a.b", s: "PENDING" });

    // A smart shutdown refuses new connections ("the database system is shutting down") while
    // open ones keep working: the listener still hears the signal, the re-check cannot connect.
    const notifier = await r.cluster.holdConnection();
    await r.cluster.sql(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = 'hookgate' AND pid <> pg_backend_pid() AND pid <> $1 AND query NOT LIKE 'LISTEN%'`,
      [notifier.pid],
    );
    await r.cluster.stop("smart");
    await until("new connections to be refused", async () => {
      try {
        await r!.cluster.sql("SELECT 1");
        return false;
      } catch {
        return true;
      }
    });
    await notifier.query("SELECT pg_notify('hookgate_delivery_updates', $1)", [signal]);
    const [got] = await sub.results.take(1, 5_000);
    expect(got!.data.deliveryUpdated.__typename).toBe("DeliveryUpdate");
    expect(sub.results.error).toBeNull();
    await notifier.end();
  }, 60_000);
});
