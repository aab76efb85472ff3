/**
 * At-least-once across a real crash, and a graceful stop with attempts in flight, in real processes on a
 * durable PostgreSQL (fsync and synchronous_commit on, its own throwaway cluster):
 *   - a `hookgate serve` process is SIGKILLed while its attempts are in flight (the receiver holds them); a
 *     new process on the same database delivers every claimed delivery once the dead one's leases end, and
 *     the duplicates (attempts the receiver saw twice) are counted, not hidden;
 *   - a process given SIGTERM while attempts are in flight lets those that finish within
 *     HOOKGATE_SHUTDOWN_GRACE_MS finish (SUCCEEDED) and releases the rest (due again, no lease held), and
 *     exits 0.
 * PostgreSQL only: it is about a shared server surviving a client process's death (the "pglite" project
 * skips it).
 */
import { randomBytes } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../../scripts/postgres-cluster.js";
import { TEST_DB } from "../support/db.js";
import { type HookgateProcess, startHookgateProcess } from "../support/hookgate-process.js";

const ADMIN_KEY = `admin-${randomBytes(24).toString("hex")}`;
const ENCRYPTION_KEY = randomBytes(32).toString("base64");
const EVENTS = 8;

interface HoldingReceiver {
  url: string;
  /** webhook-id of every request that arrived, in order (a request cut by a crash counts too). */
  arrivals: string[];
  /** webhook-id of every request answered 200. */
  answered: string[];
  /** Requests held open, not answered yet. */
  held: { id: string; res: ServerResponse }[];
  /** "hold": keep requests open; "ok": answer 200 at once. */
  mode: "hold" | "ok";
  answer(n: number): void;
  close(): Promise<void>;
}

async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const sockets = new Set<Socket>();
  const r: HoldingReceiver = {
    url: "",
    arrivals: [],
    answered: [],
    held: [],
    mode: "hold",
    answer(n) {
      for (const { id, res } of r.held.splice(0, n)) {
        if (res.destroyed) continue;
        res.end("ok");
        r.answered.push(id);
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const id = String(req.headers["webhook-id"]);
      r.arrivals.push(id);
      if (r.mode === "ok") {
        res.end("ok");
        r.answered.push(id);
      } else {
        r.held.push({ id, res });
      }
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return r;
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(TEST_DB !== "postgres")(
  "real processes on a durable PostgreSQL",
  { timeout: 240_000 },
  () => {
    let cluster: TestCluster;
    let sql: pg.Client;
    const procs: HookgateProcess[] = [];

    const env = (extra: Record<string, string> = {}) => ({
      DATABASE_URL: cluster.adminUrl,
      HOOKGATE_ENCRYPTION_KEY: ENCRYPTION_KEY,
      HOOKGATE_ADMIN_KEY: ADMIN_KEY,
      HOOKGATE_ALLOW_INSECURE_URLS: "1",
      HOOKGATE_ATTEMPT_TIMEOUT_MS: "20000",
      HOOKGATE_LEASE_MS: "22000",
      HOOKGATE_RETRY_SCHEDULE: "1s,1s,1s,1s,1s",
      HOOKGATE_RETRY_JITTER: "0",
      ...extra,
    });
    const start = async (extra?: Record<string, string>) => {
      const p = await startHookgateProcess(env(extra));
      procs.push(p);
      return p;
    };

    async function setup(p: HookgateProcess, receiverUrl: string, type: string): Promise<string> {
      const et = await p.gql(
        ADMIN_KEY,
        "mutation($i: CreateEventTypeInput!) { createEventType(input: $i) { __typename } }",
        {
          i: { name: type },
        },
      );
      expect(et.data?.createEventType.__typename, JSON.stringify(et)).toBe("CreateEventTypePayload");
      const ep = await p.gql(
        ADMIN_KEY,
        `mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) {
         __typename ... on CreateEndpointPayload { endpoint { id } } } }`,
        { i: { url: receiverUrl, events: [type] } },
      );
      expect(ep.data?.createEndpoint.__typename, JSON.stringify(ep)).toBe("CreateEndpointPayload");
      return ep.data.createEndpoint.endpoint.id;
    }

    async function publishMany(p: HookgateProcess, type: string, n: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await p.gql(
          ADMIN_KEY,
          `mutation($i: PublishEventInput!) { publishEvent(input: $i) {
           __typename ... on PublishEventPayload { event { id } } } }`,
          { i: { type, payload: { i } } },
        );
        expect(res.data?.publishEvent.__typename, JSON.stringify(res)).toBe("PublishEventPayload");
        ids.push(res.data.publishEvent.event.id);
      }
      return ids;
    }

    const deliveries = async (endpointId: string) =>
      (
        await sql.query(
          `SELECT d.event_id, d.status::text AS status, d.locked_by, d.attempt_count,
                d.next_attempt_at <= now() AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= now()) AS due
           FROM deliveries d WHERE d.endpoint_id = $1 ORDER BY d.event_id`,
          [endpointId],
        )
      ).rows as {
        event_id: string;
        status: string;
        locked_by: string | null;
        attempt_count: number;
        due: boolean;
      }[];

    beforeAll(async () => {
      cluster = await startTestCluster({ durable: true, prefix: "hookgate-crash-" });
      sql = new pg.Client({ connectionString: cluster.adminUrl });
      await sql.connect();
      const settings = await sql.query(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit') ORDER BY name",
      );
      expect(settings.rows).toEqual([
        { name: "fsync", setting: "on" },
        { name: "synchronous_commit", setting: "on" },
      ]);
    }, 120_000);

    afterAll(async () => {
      for (const p of procs) await p.stop(5_000);
      await sql?.end();
      await cluster?.stop();
    });

    it("SIGKILL with attempts in flight: after a restart every claimed delivery arrives; duplicates counted", async () => {
      const rx = await startHoldingReceiver();
      try {
        const first = await start();
        const endpointId = await setup(first, rx.url, "crash.kill");
        const eventIds = await publishMany(first, "crash.kill", EVENTS);
        // Every delivery claimed and its attempt in flight: the receiver holds all of them.
        await until("all attempts in flight", () => rx.held.length >= EVENTS);
        const claimed = await deliveries(endpointId);
        expect(claimed.map((d) => d.status)).toEqual(Array(EVENTS).fill("SENDING"));

        first.child.kill("SIGKILL");
        expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
        // Nothing was released: the dead process's leases still hold the rows.
        const orphaned = await deliveries(endpointId);
        expect(orphaned.every((d) => d.status === "SENDING" && d.locked_by !== null && !d.due)).toBe(true);

        rx.mode = "ok";
        const second = await start();
        const done = await until(
          "every delivery SUCCEEDED after the restart",
          async () => {
            const rows = await deliveries(endpointId);
            return rows.every((d) => d.status === "SUCCEEDED") ? rows : undefined;
          },
          120_000,
        );
        expect(done.map((d) => d.event_id).sort()).toEqual([...eventIds].sort());
        // Every event reached the receiver with a 200 after the crash ...
        expect(new Set(rx.answered)).toEqual(new Set(eventIds));
        // ... and every one arrived twice: once to the killed process (never answered), once after the restart.
        // These are the duplicates at-least-once allows; receivers deduplicate on webhook-id.
        const arrivals = new Map<string, number>();
        for (const id of rx.arrivals) arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
        const duplicates = rx.arrivals.length - arrivals.size;
        expect(duplicates).toBe(EVENTS);
        expect([...arrivals.values()].every((n) => n === 2)).toBe(true);
        await second.stop();
      } finally {
        await rx.close();
      }
    });

    it("SIGTERM with attempts in flight: those answered within the grace finish, the rest are released, exit 0", async () => {
      const rx = await startHoldingReceiver();
      try {
        const p = await start({ HOOKGATE_SHUTDOWN_GRACE_MS: "3000" });
        const endpointId = await setup(p, rx.url, "crash.term");
        const eventIds = await publishMany(p, "crash.term", EVENTS);
        await until("all attempts in flight", () => rx.held.length >= EVENTS);

        p.child.kill("SIGTERM");
        // Half of them are answered during the grace; the other half never are.
        await new Promise((r) => setTimeout(r, 300));
        rx.answer(EVENTS / 2);
        expect(await p.exited).toEqual({ code: 0, signal: null });

        const rows = await deliveries(endpointId);
        const finished = rows.filter((d) => d.status === "SUCCEEDED");
        const released = rows.filter((d) => d.status !== "SUCCEEDED");
        expect(new Set(finished.map((d) => d.event_id))).toEqual(new Set(rx.answered));
        expect(finished).toHaveLength(EVENTS / 2);
        expect(released).toHaveLength(EVENTS / 2);
        for (const d of released) {
          // Released: no lease left, due now, ready for any dispatcher.
          expect(["PENDING", "RETRYING"]).toContain(d.status);
          expect(d.locked_by).toBeNull();
          expect(d.due).toBe(true);
        }
        expect(rows.map((d) => d.event_id).sort()).toEqual([...eventIds].sort());
      } finally {
        await rx.close();
      }
    });
  },
);
