/**
 * The dispatcher across database outages: outcomes it could not write are kept and written once the
 * database is back (nothing that succeeded is sent again), repeated writes are harmless, claims stop
 * while the database is away, and the outcome signals still reach subscribers.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type Client, createClient } from "graphql-ws";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Hookgate, startHookgate } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { type Completion, claimDue, completeBatch } from "../../src/dispatcher/queue.js";
import { liveUpdates } from "../../src/domain/live.js";
import { TEST_DB } from "../support/db.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { type FaultCluster, startFaultCluster, until } from "../support/pg-faults.js";
import { untilSubscribed, wsSubscribe } from "./live-fixtures.js";

async function endpointAndEvent(
  gql: (q: string, v?: Record<string, unknown>) => Promise<{ data: any; errors?: unknown }>,
  url: string,
): Promise<string> {
  await gql(`mutation { createEventType(input: { name: "a.b" }) { __typename } }`);
  const ep = await gql(
    `mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { ... on CreateEndpointPayload { endpoint { id } } } }`,
    { i: { url, events: ["a.b"] } },
  );
  return ep.data.createEndpoint.endpoint.id;
}

describe("completeBatch is idempotent", () => {
  let h: TestHookgate | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("a repeated write (its first reply lost) records nothing twice, raises no 23505, and still counts as updated", async () => {
    h = await startTestHookgate();
    const endpointId = await endpointAndEvent(h.gql, "http://127.0.0.1:9/hook");
    const published = await h.gql(
      `mutation { publishEvent(input: { type: "a.b", payload: {} }) { __typename } }`,
    );
    expect(published.errors).toBeUndefined();
    const db = h.hookgate.app.db;
    const [row] = await claimDue(db, "w/1", 10, 60_000, []);
    expect(row).toBeDefined();
    const completion: Completion = {
      id: row!.id,
      lock: "w/1",
      status: "SUCCEEDED",
      delay_ms: null,
      attempted: true,
      attempt_id: "att_idempotent_1",
      attempt_number: 1,
      url: "http://127.0.0.1:9/hook",
      att_status: "SUCCEEDED",
      trigger: "SCHEDULED",
      req_headers: {},
      resp_code: 200,
      resp_body: "ok",
      duration_ms: 3,
      error: null,
      endpoint_id: endpointId,
    };
    const health = new Map([[endpointId, "ok" as const]]);
    const first = await completeBatch(db, [completion], health, 3_600_000);
    expect([...first.updated]).toEqual([row!.id]);
    // A first try cannot have committed before, so it does not look for its own attempts...
    const unheard = await completeBatch(db, [completion], health, 3_600_000);
    expect([...unheard.updated]).toEqual([]);
    // ...a write tried again does, and counts the delivery as updated, so its signal still goes out.
    const again = await completeBatch(db, [completion], health, 3_600_000, { retry: true });
    expect([...again.updated]).toEqual([row!.id]);
    const rows = await db.query<{ status: string; attempt_count: number; attempts: number }>(
      `SELECT d.status::text AS status, d.attempt_count,
              (SELECT count(*)::int FROM attempts a WHERE a.delivery_id = d.id) AS attempts
         FROM deliveries d WHERE d.id = $1`,
      [row!.id],
    );
    expect(rows).toEqual([{ status: "SUCCEEDED", attempt_count: 1, attempts: 1 }]);
  }, 90_000);
});

/** A receiver that holds every request until released, and counts requests per webhook-id. */
async function holdingReceiver() {
  const held: ServerResponse[] = [];
  const seen = new Map<string, number>();
  let hold = true;
  const server: Server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on("end", () => {
      const id = String(req.headers["webhook-id"]);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (hold) held.push(res);
      else res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    held,
    seen,
    release() {
      hold = false;
      for (const res of held.splice(0)) res.end("ok");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(TEST_DB !== "postgres")("dispatcher across a database outage (real PostgreSQL)", () => {
  let cluster: FaultCluster | undefined;
  let db: Database | undefined;
  let hookgate: Hookgate | undefined;
  let client: Client | undefined;
  let receiver: Awaited<ReturnType<typeof holdingReceiver>> | undefined;
  afterEach(async () => {
    await client?.dispose();
    await hookgate?.stop();
    await db?.close();
    await receiver?.close();
    await cluster?.close();
    cluster = db = hookgate = client = receiver = undefined;
  });

  it("keeps the outcomes it could not write and writes them after the database returns: nothing is sent twice", async () => {
    const N = 5;
    cluster = await startFaultCluster();
    db = await openDatabase({ databaseUrl: cluster.url, poolSize: 6 });
    const logs: { msg: string; level: number }[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    hookgate = await startHookgate(
      testConfig({
        port: 0,
        host: "127.0.0.1",
        logLevel: "silent",
        encryptionKey: randomBytes(32),
        allowInsecureUrls: true,
        apiRateLimitPerSecond: 0,
        authFailureLimitPerMinute: 0,
        pollIntervalMs: 200,
        leaseMs: 120_000,
      }),
      { db, role: "all", logger },
    );
    const url = hookgate.server!.url;
    const key = hookgate.firstAdminKey!;
    const gql = async (query: string, variables?: Record<string, unknown>) => {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data: any; errors?: unknown };
    };
    receiver = await holdingReceiver();
    await endpointAndEvent(gql, receiver.url);
    client = createClient({
      url: `${url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
      lazy: true,
    });
    const succeeded = wsSubscribe(
      client,
      `subscription { deliveryUpdated(filter: { status: [SUCCEEDED] }) { delivery { id status } } }`,
    );
    await untilSubscribed(liveUpdates(db), 1);
    for (let i = 0; i < N; i++) {
      const r = await gql(
        `mutation { publishEvent(input: { type: "a.b", payload: { i: ${i} } }) { __typename } }`,
      );
      expect(r.errors).toBeUndefined();
    }
    await until("every delivery to be in flight", () => receiver!.held.length === N);

    // The database goes away while the attempts are in flight; they succeed meanwhile.
    await cluster.stop("immediate");
    const logsBefore = logs.length;
    receiver.release();
    // Longer than the old in-process retries of an outcome write (~1.5 s), then back.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await cluster.start();

    await until(
      "every delivery to be SUCCEEDED",
      async () => {
        const [row] = await cluster!.sql<{ n: number }>(
          "SELECT count(*)::int AS n FROM deliveries WHERE status = 'SUCCEEDED'",
        );
        return row!.n === N;
      },
      20_000,
    );
    expect([...receiver.seen.values()]).toEqual(Array(N).fill(1));
    const attempts = await cluster.sql<{ n: number }>("SELECT count(*)::int AS n FROM attempts");
    expect(attempts[0]!.n).toBe(N);
    // The outcome signals reach subscribers.
    const updates = await succeeded.results.take(N, 10_000);
    expect(new Set(updates.map((u) => u.data.deliveryUpdated.delivery.id)).size).toBe(N);
    // Claims stopped while the database was away: at most the one that found it gone failed (a
    // 200 ms poll would otherwise fail ~30 times in 6 s).
    const during = logs.slice(logsBefore).map((l) => l.msg);
    expect(during.filter((m) => /claiming deliveries failed/.test(m)).length).toBeLessThanOrEqual(1);
    expect(during.filter((m) => /keeping outcomes/.test(m)).length).toBeGreaterThanOrEqual(1);
    expect(during.filter((m) => /recording a delivery outcome failed/.test(m))).toEqual([]);
  }, 90_000);
});
