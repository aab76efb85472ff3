/**
 * The fault suite's parts: real Hookgate child processes (`node bin/hookgate.js serve --role ...`),
 * a real durable PostgreSQL that can be restarted and stopped, a loopback receiver that records every
 * delivery, publishers, and the accounting every scenario prints. Loopback only; every wait bounded.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import { type Client, createClient } from "graphql-ws";
import pg from "pg";
import WebSocket from "ws";
import { findPostgresBinaries, freePort, startTestCluster } from "../../scripts/postgres-cluster.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check() is truthy; throws naming what it waited for after timeoutMs. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: durable (fsync and synchronous commit on, as in production), restartable.

export interface FaultPostgres {
  url: string;
  /** pg_ctl restart -m fast|immediate (same port). */
  restart(mode: "fast" | "immediate"): void;
  stop(mode: "fast" | "immediate"): void;
  start(): void;
  close(): Promise<void>;
}

export async function startFaultPostgres(): Promise<FaultPostgres> {
  const bins = findPostgresBinaries();
  if (!bins) throw new Error("no PostgreSQL binaries (initdb, pg_ctl): apt-get install -y postgresql");
  const cluster = await startTestCluster({ durable: true, prefix: "hookgate-faults-" });
  const dataDir = path.join(cluster.dir, "data");
  const logFile = path.join(cluster.dir, "server.log");
  const asRoot = process.getuid?.() === 0;
  const runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].find(existsSync) ?? "runuser";
  const pgCtl = (args: string[]) => {
    const [file, argv] = asRoot
      ? [runuser, ["-u", "postgres", "--", bins.pgCtl, ...args]]
      : [bins.pgCtl, args];
    const res = spawnSync(file, argv, { encoding: "utf8", timeout: 120_000 });
    if (res.status !== 0) throw new Error(`pg_ctl ${args.join(" ")} failed: ${res.stdout}${res.stderr}`);
  };
  // The same settings startTestCluster's durable mode uses, for a start after a stop.
  const opts = [
    `-p ${cluster.port}`,
    "-h 127.0.0.1",
    `-k ${cluster.dir}`,
    "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=256MB",
    "-c max_wal_size=2GB -c max_connections=300",
  ].join(" ");
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query("CREATE DATABASE hookgate");
  await admin.end();
  const url = new URL(cluster.adminUrl);
  url.pathname = "/hookgate";
  return {
    url: url.toString(),
    restart: (mode) => pgCtl(["restart", "-D", dataDir, "-m", mode, "-w", "-t", "120", "-l", logFile]),
    stop: (mode) => pgCtl(["stop", "-D", dataDir, "-m", mode, "-w", "-t", "120"]),
    start: () => pgCtl(["start", "-D", dataDir, "-l", logFile, "-w", "-t", "120", "-o", opts]),
    close: () => cluster.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// Hookgate processes.

/** Compressed delivery timings: a retry schedule of seconds, short timeouts and leases. */
export const FAULT_ENV: Record<string, string> = {
  // The compiled build (global-setup.ts builds it), never a silent fallback to tsx.
  HOOKGATE_RUNTIME: "dist",
  HOOKGATE_RETRY_SCHEDULE: "200ms,500ms,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s",
  HOOKGATE_RETRY_JITTER: "0.2",
  HOOKGATE_ATTEMPT_TIMEOUT_MS: "5000",
  HOOKGATE_LEASE_MS: "12000",
  HOOKGATE_POLL_INTERVAL_MS: "200",
  HOOKGATE_SHUTDOWN_GRACE_MS: "3000",
  HOOKGATE_DISPATCH_CONCURRENCY: "32",
  HOOKGATE_ALLOW_INSECURE_URLS: "1",
  HOOKGATE_API_RATE_LIMIT: "0",
  HOOKGATE_AUTH_FAILURE_LIMIT: "0",
  HOOKGATE_HOST: "127.0.0.1",
  HOOKGATE_LOG_LEVEL: "info",
  HOOKGATE_DATABASE_POOL_SIZE: "8",
};

export interface HookgateChild {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  alive: () => boolean;
  /** SIGTERM and wait (SIGKILL after the bound). */
  stop(timeoutMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

const running = new Set<HookgateChild>();

export function spawnHookgate(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
): HookgateChild {
  const child = spawn(process.execPath, ["bin/hookgate.js", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...FAULT_ENV, HOOKGATE_PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const h: HookgateChild = {
    name,
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(timeoutMs = 30_000) {
      if (h.alive()) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      running.delete(h);
      return code;
    },
    async kill() {
      if (h.alive()) child.kill("SIGKILL");
      await exited;
      running.delete(h);
    },
  };
  running.add(h);
  exited.then(() => running.delete(h));
  return h;
}

/** Stops every child still running (afterAll): no process is left behind. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((h) => h.stop(15_000)));
}

export async function startHookgateProcess(
  name: string,
  role: "api" | "dispatcher" | "all",
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<HookgateChild> {
  const port = await freePort();
  const h = spawnHookgate(name, ["serve", "--role", role], env, port);
  await waitReady(h, timeoutMs);
  return h;
}

export async function waitReady(h: HookgateChild, timeoutMs = 120_000): Promise<void> {
  await until(
    `${h.name} ready`,
    async () => {
      if (!h.alive()) throw new Error(`${h.name} exited during start:\n${h.output().slice(-3000)}`);
      try {
        const res = await fetch(`${h.url}/ready`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      } catch {
        return false;
      }
    },
    timeoutMs,
  );
}

export function newSecrets() {
  return {
    HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HOOKGATE_ADMIN_KEY: `hgfault_${randomBytes(24).toString("hex")}`,
  };
}

// ---------------------------------------------------------------------------------------------
// GraphQL over HTTP, with bounded retries for a refused request (an outage answers 503).

export async function gql<T = any>(
  url: string,
  key: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, ...JSON.parse(text) };
  } catch {
    return { status: res.status, errors: [{ message: text.slice(0, 200) }] };
  }
}

export async function gqlOk<T = any>(
  url: string,
  key: string,
  query: string,
  variables?: Record<string, unknown>,
) {
  const res = await gql<T>(url, key, query, variables);
  if (res.errors?.length || !res.data)
    throw new Error(`GraphQL: ${res.status} ${JSON.stringify(res.errors)}`);
  return res.data;
}

/** A tenant of the scenario's own, with its event type and one endpoint per receiver path. */
export async function setupTenant(
  api: string,
  adminKey: string,
  name: string,
  endpointUrls: string[],
): Promise<{ tenantId: string; endpointIds: string[] }> {
  const t = await gqlOk(
    api,
    adminKey,
    `mutation($n: String!) { createTenant(input: { name: $n }) { __typename ... on CreateTenantPayload { tenant { id } } ... on Error { message } } }`,
    { n: name },
  );
  const tenantId = t.createTenant.tenant.id as string;
  const et = await gqlOk(
    api,
    adminKey,
    `mutation($n: String!) { createEventType(input: { name: $n }) { __typename ... on Error { message } } }`,
    { n: `${name}.happened` },
  );
  if (et.createEventType.__typename !== "CreateEventTypePayload" && !/exist/i.test(JSON.stringify(et)))
    throw new Error(`createEventType: ${JSON.stringify(et)}`);
  const endpointIds: string[] = [];
  for (const url of endpointUrls) {
    const e = await gqlOk(
      api,
      adminKey,
      `mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { __typename ... on CreateEndpointPayload { endpoint { id } } ... on Error { message } } }`,
      { i: { url, events: ["*"], tenantId } },
    );
    if (e.createEndpoint.__typename !== "CreateEndpointPayload")
      throw new Error(`createEndpoint: ${JSON.stringify(e)}`);
    endpointIds.push(e.createEndpoint.endpoint.id);
  }
  return { tenantId, endpointIds };
}

export interface PublishResult {
  attempted: number;
  /** Event ids whose publishEvent answered with the event: Hookgate acknowledged them. */
  acknowledged: string[];
  /** Calls that failed (refused, or no answer); a client retries these with the same idempotency key. */
  failed: number;
}

/**
 * Publishes `count` events round-robin over the API processes, `concurrency` at a time, each with an
 * idempotency key; a refused call (e.g. 503 during an outage) is retried with the same key up to
 * `retries` times, as a client would. Only acknowledged events count as published.
 */
export async function publishMany(
  apis: string[],
  key: string,
  tenantId: string,
  type: string,
  count: number,
  opts: { concurrency?: number; retries?: number; tag?: string; onAck?: (n: number) => void } = {},
): Promise<PublishResult> {
  const result: PublishResult = { attempted: 0, acknowledged: [], failed: 0 };
  const tag = opts.tag ?? randomBytes(4).toString("hex");
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      result.attempted += 1;
      for (let attempt = 0; ; attempt++) {
        const api = apis[(i + attempt) % apis.length]!;
        try {
          const res = await gql(
            api,
            key,
            `mutation($i: PublishEventInput!) { publishEvent(input: $i) { __typename ... on PublishEventPayload { event { id } } ... on Error { message } } }`,
            { i: { type, payload: { i, tag }, tenantId, idempotencyKey: `${tag}-${i}` } },
          );
          const id = res.data?.publishEvent?.event?.id as string | undefined;
          if (id) {
            result.acknowledged.push(id);
            opts.onAck?.(result.acknowledged.length);
            break;
          }
          if (res.data?.publishEvent)
            throw new Error(`publishEvent: ${JSON.stringify(res.data.publishEvent)}`);
        } catch (err) {
          if (String(err).includes("publishEvent:")) throw err;
        }
        if (attempt >= (opts.retries ?? 0)) {
          result.failed += 1;
          break;
        }
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  return result;
}

// ---------------------------------------------------------------------------------------------
// The receiver: one loopback server, one path per endpoint, every 2xx-answered delivery recorded.

/** "ok": 200 now; a number: 200 after that many ms; "handled": the behaviour answered (a failure) or hangs. */
export type Behaviour = (
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
) => "ok" | "handled" | number;

export interface FaultReceiver {
  base: string;
  /** Endpoint url for a path (e.g. "/s1/ep0"). */
  url(path: string): string;
  /** (path, webhook-id) -> times answered 2xx. */
  delivered: Map<string, number>;
  /** Requests answered with a failure or left hanging, by path. */
  refused: Map<string, number>;
  behave(b: Behaviour | null): void;
  close(): Promise<void>;
}

export async function startFaultReceiver(): Promise<FaultReceiver> {
  const delivered = new Map<string, number>();
  const refused = new Map<string, number>();
  const sockets = new Set<Socket>();
  let behaviour: Behaviour | null = null;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      const outcome = behaviour ? behaviour(path, req, res) : "ok";
      if (outcome === "handled") {
        refused.set(path, (refused.get(path) ?? 0) + 1);
        return;
      }
      // Recorded before the answer is sent: a delivery whose 2xx the dispatcher may not have read
      // (killed meanwhile) counts as delivered, and its resend as a duplicate.
      const id = `${path} ${req.headers["webhook-id"]}`;
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
      if (typeof outcome === "number") setTimeout(() => res.end("ok"), outcome);
      else res.end("ok");
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    base,
    url: (p) => `${base}${p}`,
    delivered,
    refused,
    behave(b) {
      behaviour = b;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Accounting.

export interface Accounting {
  scenario: string;
  published: number;
  acknowledged: number;
  /** acknowledged events x endpoints that must receive them. */
  expectedDeliveries: number;
  deliveredUnique: number;
  duplicates: number;
  lost: number;
}

/** What the receiver got for these events on these paths. */
export function account(
  scenario: string,
  receiver: FaultReceiver,
  paths: string[],
  publish: PublishResult,
): Accounting {
  let unique = 0;
  let duplicates = 0;
  for (const p of paths) {
    for (const id of publish.acknowledged) {
      const n = receiver.delivered.get(`${p} ${id}`) ?? 0;
      if (n > 0) unique += 1;
      if (n > 1) duplicates += n - 1;
    }
  }
  const expected = publish.acknowledged.length * paths.length;
  return {
    scenario,
    published: publish.attempted,
    acknowledged: publish.acknowledged.length,
    expectedDeliveries: expected,
    deliveredUnique: unique,
    duplicates,
    lost: expected - unique,
  };
}

/** Waits until every acknowledged delivery arrived (or the bound passes), then accounts. */
export async function settle(
  scenario: string,
  receiver: FaultReceiver,
  paths: string[],
  publish: PublishResult,
  timeoutMs = 90_000,
): Promise<Accounting> {
  const deadline = Date.now() + timeoutMs;
  let a = account(scenario, receiver, paths, publish);
  while (a.lost > 0 && Date.now() < deadline) {
    await sleep(200);
    a = account(scenario, receiver, paths, publish);
  }
  // A little longer: duplicates that were still on their way are counted too.
  await sleep(500);
  return report(account(scenario, receiver, paths, publish));
}

export const results: Accounting[] = [];

export function report(a: Accounting, extra = ""): Accounting {
  results.push(a);
  console.log(
    `[faults] ${a.scenario}: published ${a.published}, acknowledged ${a.acknowledged} ` +
      `(${a.expectedDeliveries} deliveries), delivered unique ${a.deliveredUnique}, duplicates ${a.duplicates}, ` +
      `lost ${a.lost}${extra ? `; ${extra}` : ""}`,
  );
  return a;
}

// ---------------------------------------------------------------------------------------------
// Live updates: a graphql-ws subscription that reconnects on close, as a client should.

export interface LiveWatch {
  /** delivery id -> statuses seen, in order. */
  seen: Map<string, string[]>;
  /** delivery id -> its event id. */
  eventOf: Map<string, string>;
  /** Updates received at or after this time (ms). */
  countSince(t: number): number;
  /** Times the socket (re)connected. */
  connects: () => number;
  close(): Promise<void>;
}

export function watchDeliveries(api: string, key: string, filter: Record<string, unknown>): LiveWatch {
  const seen = new Map<string, string[]>();
  const eventOf = new Map<string, string>();
  const times: number[] = [];
  let connects = 0;
  let closed = false;
  const client: Client = createClient({
    url: `${api.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    lazy: false,
    retryAttempts: 1000,
    shouldRetry: () => true,
    retryWait: async () => {
      await sleep(300);
    },
    on: {
      connected: () => {
        connects += 1;
      },
    },
  });
  const subscribe = () => {
    if (closed) return;
    client.subscribe(
      {
        query: `subscription($f: DeliveryFilter) { deliveryUpdated(filter: $f) { delivery { id status event { id } } } }`,
        variables: { f: filter },
      },
      {
        next: (r) => {
          const d = (r.data as any)?.deliveryUpdated?.delivery;
          if (!d) return;
          times.push(Date.now());
          const list = seen.get(d.id) ?? [];
          list.push(d.status);
          seen.set(d.id, list);
          eventOf.set(d.id, d.event.id);
        },
        // A subscription ended by the server (e.g. during an outage) is opened again.
        error: () => setTimeout(subscribe, 300),
        complete: () => setTimeout(subscribe, 300),
      },
    );
  };
  subscribe();
  return {
    seen,
    eventOf,
    countSince: (t) => times.filter((x) => x >= t).length,
    connects: () => connects,
    async close() {
      closed = true;
      await client.dispose();
    },
  };
}

/** Deliveries of these events whose SUCCEEDED update a watch has seen. */
export function succeededSeen(watch: LiveWatch, eventIds: Set<string>): number {
  let n = 0;
  for (const [id, statuses] of watch.seen) {
    if (statuses.includes("SUCCEEDED") && eventIds.has(watch.eventOf.get(id)!)) n += 1;
  }
  return n;
}

/** Attempts that Hookgate recorded as failed (no 2xx: refused, timed out) for a tenant's deliveries. */
export async function failedAttempts(databaseUrl: string, tenantId: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const res = await client.query(
      `SELECT count(*)::int AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE d.tenant_id = $1 AND a.status = 'FAILED'`,
      [tenantId],
    );
    return res.rows[0].n as number;
  } finally {
    await client.end();
  }
}
