/**
 * The measurements. Each phase talks to a running Hookgate only through its public API (GraphQL over HTTP and
 * graphql-ws) and reads receipts from the receiver process; none of them imports Hookgate code.
 */
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { Gql } from "./lib/gql.js";
import type { HookgateProcess } from "./lib/hookgate.js";
import { samplePayload } from "./lib/payload.js";
import { nowMs, type RpcClient } from "./lib/rpc.js";
import { median, percentile, pooled, round, sleep } from "./lib/stats.js";

export interface Sizes {
  ceilingMs: number;
  /** Deliveries per throughput run (fan-out 10). */
  throughputDeliveries: number;
  latencyRate: number;
  latencyMs: number;
  fanoutEndpoints: number;
  fanoutReps: number;
  apiMs: number;
  listRequests: number;
  subscribers: number;
  subscriptionEvents: number;
  backlog: number;
  backlogSampleMs: number;
  oldDeliveries: number;
  /** Queued deliveries (fan-out 10) for the peer phase: Hookgate's dispatcher alone vs graphile-worker. */
  peerDeliveries: number;
  /** Rounds of the peer phase (Hookgate and the peer alternating); the ratio is their median. */
  peerRounds: number;
}

export interface Setup {
  tp: string[];
  lat: string;
  api: string;
  sub: string;
  fan: string[];
  dead: string[];
}

export interface ReceiverStats {
  unique: number;
  duplicates: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
  perSecond: [number, number][];
}

export const TYPES = {
  tp: "bench.throughput",
  lat: "bench.latency",
  fan: "bench.fanout",
  api: "bench.api",
  sub: "bench.subscription",
  dead: "bench.backlog",
};

export const log = (msg: string) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${msg}`);

export async function waitForReceipts(
  receiver: RpcClient,
  n: number,
  timeoutMs: number,
): Promise<ReceiverStats & { complete: boolean }> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const s = await receiver.call<ReceiverStats>("stats");
    if (s.unique >= n) return { ...s, complete: true };
    if (Date.now() > deadline) return { ...s, complete: false };
    await sleep(25);
  }
}

const CREATE_TYPE = `mutation($input: CreateEventTypeInput!) {
  createEventType(input: $input) { __typename ... on Error { message } }
}`;
const CREATE_ENDPOINT = `mutation($input: CreateEndpointInput!) {
  createEndpoint(input: $input) { __typename ... on CreateEndpointPayload { endpoint { id } } ... on Error { message } }
}`;
export const PUBLISH = `mutation($input: PublishEventInput!) {
  publishEvent(input: $input) {
    __typename
    ... on PublishEventPayload { event { id createdAt } deliveryCount }
    ... on Error { message }
  }
}`;

interface PublishResult {
  id: string;
  createdAt: string;
  deliveryCount: number;
}

export async function publish(gql: Gql, type: string, payload: unknown): Promise<PublishResult> {
  const d = await gql.req<{ publishEvent: any }>(PUBLISH, { input: { type, payload } });
  const r = d.publishEvent;
  if (r.__typename !== "PublishEventPayload") throw new Error(`publishEvent: ${r.__typename}: ${r.message}`);
  return { id: r.event.id, createdAt: r.event.createdAt, deliveryCount: r.deliveryCount };
}

/** Event types and endpoints for every phase. Endpoint urls point at the receiver, one path each. */
export async function setup(
  gql: Gql,
  receiverOrigin: string,
  deadOrigin: string,
  fanoutEndpoints: number,
): Promise<Setup> {
  for (const name of Object.values(TYPES)) {
    const d = await gql.req(CREATE_TYPE, { input: { name, description: "benchmark" } });
    const r = d.createEventType;
    if (r.__typename !== "CreateEventTypePayload" && r.__typename !== "ConflictError") {
      throw new Error(`createEventType ${name}: ${r.__typename}: ${r.message}`);
    }
  }
  const create = async (url: string, type: string): Promise<string> => {
    const d = await gql.req(CREATE_ENDPOINT, { input: { url, events: [type] } });
    const r = d.createEndpoint;
    if (r.__typename !== "CreateEndpointPayload")
      throw new Error(`createEndpoint: ${r.__typename}: ${r.message}`);
    return r.endpoint.id;
  };
  const many = async (n: number, url: (i: number) => string, type: string) => {
    const ids: string[] = new Array(n);
    await pooled(n, 16, async (i) => {
      ids[i] = await create(url(i), type);
    });
    return ids;
  };
  const t0 = nowMs();
  const s: Setup = {
    tp: await many(10, (i) => `${receiverOrigin}/tp/${i}`, TYPES.tp),
    lat: await create(`${receiverOrigin}/lat/0`, TYPES.lat),
    api: await create(`${receiverOrigin}/api/0`, TYPES.api),
    sub: await create(`${receiverOrigin}/sub/0`, TYPES.sub),
    fan: await many(fanoutEndpoints, (i) => `${receiverOrigin}/fan/${i}`, TYPES.fan),
    dead: await many(10, (i) => `${deadOrigin}/dead/${i}`, TYPES.dead),
  };
  log(`setup: ${6} event types, ${fanoutEndpoints + 23} endpoints in ${Math.round(nowMs() - t0)} ms`);
  return s;
}

/** The yardstick, from its own process (bench/ceiling.ts). */
export async function ceiling(ceilingRpc: RpcClient, receiverOrigin: string, sizes: Sizes) {
  const r = await ceilingRpc.call<{
    requests: number;
    allRequests: number;
    errors: number;
    elapsedMs: number;
    perSec: number;
    bodyBytes: number;
  }>(
    "run",
    {
      origin: receiverOrigin,
      paths: Array.from({ length: 10 }, (_, i) => `/ceiling/${i}`),
      connections: 64,
      warmupMs: Math.min(2000, sizes.ceilingMs / 3),
      durationMs: sizes.ceilingMs,
    },
    sizes.ceilingMs + 30_000,
  );
  log(
    `ceiling: ${Math.round(r.perSec)} signed POSTs/s (${r.requests} in ${Math.round(r.elapsedMs)} ms, ${r.errors} errors, ${r.bodyBytes}-byte body)`,
  );
  return r;
}

/**
 * Latency at a fixed offered load (open loop): events of a 1-endpoint type published on a fixed schedule;
 * for each, the receipt time minus the event's createdAt (commit) and minus the moment the request was sent.
 */
export async function latency(gql: Gql, receiver: RpcClient, rate: number, durationMs: number) {
  const n = Math.max(1, Math.round((rate * durationMs) / 1000));
  const maxInFlight = 256;
  await receiver.call("reset", { record: true });
  const sent: { id: string; sentAt: number; createdAt: number; respAt: number }[] = [];
  let inFlight = 0;
  let skipped = 0;
  let failed = 0;
  const pending: Promise<void>[] = [];
  const t0 = nowMs() + 20;
  const interval = 1000 / rate;
  for (let i = 0; i < n; i++) {
    const due = t0 + i * interval;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    if (inFlight >= maxInFlight) {
      skipped++;
      continue;
    }
    inFlight++;
    const sentAt = nowMs();
    pending.push(
      publish(gql, TYPES.lat, samplePayload(i, sentAt))
        .then((r) => {
          sent.push({ id: r.id, sentAt, createdAt: Date.parse(r.createdAt), respAt: nowMs() });
        })
        .catch(() => {
          failed++;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  const offeredMs = nowMs() - t0;
  const s = await waitForReceipts(receiver, sent.length, 60_000);
  const times = new Map(await receiver.call<[string, number][]>("times", {}, 60_000));
  const fromCommit: number[] = [];
  const fromSend: number[] = [];
  const apiMs: number[] = [];
  for (const e of sent) {
    const t = times.get(`${e.id} /lat/0`);
    apiMs.push(e.respAt - e.sentAt);
    if (t === undefined) continue;
    fromCommit.push(t - e.createdAt);
    fromSend.push(t - e.sentAt);
  }
  const achieved = (sent.length / offeredMs) * 1000;
  const r = {
    offeredPerSec: rate,
    achievedPerSec: achieved,
    events: sent.length,
    received: fromCommit.length,
    skipped,
    failed,
    complete: s.complete,
    fromCommit: summary(fromCommit),
    fromSend: summary(fromSend),
    publishRoundTrip: summary(apiMs),
  };
  log(
    `latency @${rate}/s (achieved ${Math.round(achieved)}/s): commit→receipt p50 ${fmt(r.fromCommit.p50)} p95 ${fmt(r.fromCommit.p95)} p99 ${fmt(r.fromCommit.p99)} ms; send→receipt p50 ${fmt(r.fromSend.p50)} p99 ${fmt(r.fromSend.p99)} ms; ${r.received}/${n} received, ${skipped} skipped (in-flight cap), ${failed} failed`,
  );
  return r;
}

function summary(xs: number[]) {
  return {
    n: xs.length,
    p50: round(percentile(xs, 50), 2),
    p95: round(percentile(xs, 95), 2),
    p99: round(percentile(xs, 99), 2),
    max: round(xs.length ? Math.max(...xs) : Number.NaN, 2),
  };
}

const fmt = (n: number | null) => (n === null ? "n/a" : n.toFixed(1));

/** publishEvent to a type with `endpoints` endpoints: round-trip time of the mutation (it returns after commit). */
export async function fanout(gql: Gql, receiver: RpcClient, endpoints: number, reps: number) {
  const commitMs: number[] = [];
  const drainMs: number[] = [];
  for (let rep = -1; rep < reps; rep++) {
    await receiver.call("reset");
    const t0 = nowMs();
    const r = await publish(gql, TYPES.fan, samplePayload(rep, Date.now()));
    const t1 = nowMs();
    if (r.deliveryCount !== endpoints)
      throw new Error(`fan-out: expected ${endpoints} deliveries, got ${r.deliveryCount}`);
    const s = await waitForReceipts(receiver, endpoints, 60_000);
    if (rep >= 0) {
      commitMs.push(t1 - t0);
      drainMs.push((s.complete ? s.lastAt : nowMs()) - t0);
    }
  }
  const r = {
    endpoints,
    reps,
    commitMsP50: median(commitMs),
    commitMsMax: Math.max(...commitMs),
    deliveredAllMsP50: median(drainMs),
  };
  log(
    `fan-out ${endpoints}: publish→commit median ${fmt(r.commitMsP50)} ms (max ${fmt(r.commitMsMax)}); all ${endpoints} received after ${fmt(r.deliveredAllMsP50)} ms (median of ${reps})`,
  );
  return r;
}

/** publishEvent/s with 32 concurrent HTTP clients (fan-out 1: the dispatcher delivers meanwhile). */
export async function apiPublish(origin: string, key: string, receiver: RpcClient, durationMs: number) {
  const clients = 32;
  const gql = new Gql(origin, key, clients);
  try {
    await receiver.call("reset");
    // Warm-up: connections and JIT.
    await pooled(clients * 4, clients, async (i) => {
      await publish(gql, TYPES.api, samplePayload(i, Date.now()));
    });
    const lat: number[] = [];
    let errors = 0;
    const t0 = nowMs();
    const end = t0 + durationMs;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        let i = 0;
        while (nowMs() < end) {
          const s = nowMs();
          try {
            await publish(gql, TYPES.api, samplePayload(c * 1_000_000 + i++, Date.now()));
            lat.push(nowMs() - s);
          } catch {
            errors++;
          }
        }
      }),
    );
    const elapsed = nowMs() - t0;
    const perSec = (lat.length / elapsed) * 1000;
    const total = lat.length + clients * 4;
    // Let the dispatcher catch up before the next measurement.
    const drained = await waitForReceipts(receiver, total, 180_000);
    const r = {
      clients,
      publishPerSec: perSec,
      published: lat.length,
      errors,
      p50Ms: round(percentile(lat, 50), 2),
      p99Ms: round(percentile(lat, 99), 2),
      drainedAfterMs: round((drained.complete ? drained.lastAt : nowMs()) - t0),
    };
    log(
      `api: ${Math.round(perSec)} publishEvent/s with ${clients} clients (p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, ${errors} errors); deliveries drained after ${fmt(r.drainedAfterMs)} ms`,
    );
    return r;
  } finally {
    await gql.close();
  }
}

/** endpoints(first: 100) round trips from one client. */
export async function apiList(gql: Gql, requests: number) {
  const q = `query { endpoints(first: 100) { totalCount edges { cursor node { id url events status createdAt } } } }`;
  for (let i = 0; i < 20; i++) await gql.req(q);
  const lat: number[] = [];
  let totalCount = 0;
  for (let i = 0; i < requests; i++) {
    const s = nowMs();
    const d = await gql.req(q);
    lat.push(nowMs() - s);
    totalCount = d.endpoints.totalCount;
  }
  const r = {
    requests,
    totalCount,
    p50Ms: round(percentile(lat, 50), 2),
    p99Ms: round(percentile(lat, 99), 2),
  };
  log(
    `api: endpoints(first:100) over ${totalCount} endpoints: p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms (${requests} requests, 1 client)`,
  );
  return r;
}

/**
 * N graphql-ws clients (one WebSocket each) subscribed to deliveryUpdated for one endpoint; events published
 * to it one at a time; latency = receipt − the delivery's updatedAt (the status change).
 */
export async function subscriptions(
  hg: HookgateProcess,
  gql: Gql,
  endpointId: string,
  n: number,
  events: number,
) {
  const samples: number[] = [];
  let messages = 0;
  let errors = 0;
  let live = 0;
  let firstSeenResolve: () => void = () => {};
  const clients: ReturnType<typeof createClient>[] = [];
  const disposers: (() => void)[] = [];
  const query = `subscription($filter: DeliveryFilter) {
    deliveryUpdated(filter: $filter) { delivery { id status updatedAt } attempt { id } }
  }`;
  const seenByClient: boolean[] = new Array(n).fill(false);
  const allSeen = new Promise<void>((r) => {
    firstSeenResolve = r;
  });
  try {
    const t0 = nowMs();
    await pooled(n, 50, async (i) => {
      const client = createClient({
        url: hg.wsUrl,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${hg.adminKey}` },
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        const offC = client.on("connected", () => {
          offC();
          offE();
          resolve();
        });
        const offE = client.on("error", (e) => {
          offC();
          offE();
          reject(e instanceof Error ? e : new Error(`ws error ${String((e as any)?.message ?? e)}`));
        });
      });
      disposers.push(
        client.subscribe(
          { query, variables: { filter: { endpointId } } },
          {
            next: (msg: any) => {
              const t = nowMs();
              if (msg.errors) {
                errors++;
                return;
              }
              messages++;
              const u = msg.data?.deliveryUpdated?.delivery?.updatedAt;
              if (!seenByClient[i]) {
                seenByClient[i] = true;
                live++;
                if (live === n) firstSeenResolve();
                return; // warm-up message, not measured
              }
              if (u) samples.push(t - Date.parse(u));
            },
            error: () => {
              errors++;
            },
            complete: () => {},
          },
        ),
      );
    });
    const connectMs = nowMs() - t0;
    // Subscriptions are live once every client saw an update: publish until they have.
    const liveDeadline = Date.now() + 30_000;
    while (live < n && Date.now() < liveDeadline) {
      await publish(gql, TYPES.sub, samplePayload(-1, Date.now()));
      await Promise.race([allSeen, sleep(1000)]);
    }
    if (live < n) throw new Error(`only ${live}/${n} subscribers received the warm-up update`);
    await sleep(500);
    samples.length = 0;
    messages = 0;
    for (let e = 0; e < events; e++) {
      await publish(gql, TYPES.sub, samplePayload(e, Date.now()));
      await sleep(300);
    }
    await sleep(1000);
    const r = {
      subscribers: n,
      events,
      connectMs: round(connectMs),
      messages,
      errors,
      p50Ms: round(percentile(samples, 50), 2),
      p99Ms: round(percentile(samples, 99), 2),
    };
    log(
      `subscriptions: ${n} subscribers connected in ${fmt(r.connectMs)} ms; ${messages} updates received for ${events} events; status change→receipt p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms; ${errors} errors`,
    );
    return r;
  } finally {
    for (const d of disposers) d();
    await Promise.all(clients.map((c) => c.dispose()));
  }
}
