/**
 * The end-to-end phases: N deliveries (N/10 events of a type with 10 endpoints) published through the API and
 * timed from the first publish until the receivers hold every delivery. `throughput` publishes one event per
 * `publishEvent` mutation from 16 concurrent clients; `batch` publishes the same events through
 * `publishEvents`, up to 100 per mutation (one transaction each), from 4 concurrent clients.
 */
import type { Gql } from "./lib/gql.js";
import { samplePayload } from "./lib/payload.js";
import { nowMs, type RpcClient } from "./lib/rpc.js";
import { median, pooled } from "./lib/stats.js";
import { log, publish, type ReceiverStats, TYPES, waitForReceipts } from "./phases.js";

const FANOUT = 10;
const THROUGHPUT_CLIENTS = 16;
/** Events per publishEvents call: the most it takes (PUBLISH_BATCH_MAX). */
const BATCH_SIZE = 100;
const BATCH_CLIENTS = 4;

const PUBLISH_BATCH = `mutation($input: PublishEventsInput!) {
  publishEvents(input: $input) {
    __typename
    ... on PublishEventsPayload { results { deliveryCount } }
    ... on Error { message }
  }
}`;

export type EndToEndResult = Awaited<ReturnType<typeof endToEnd>>;

/** Sustained deliveries/s with one publishEvent per event (16 concurrent publishers). */
export async function throughput(gql: Gql, receiver: RpcClient, deliveries: number, label: string) {
  const events = Math.ceil(deliveries / FANOUT);
  return endToEnd(receiver, events, label, `${events} events`, async () => {
    await pooled(events, THROUGHPUT_CLIENTS, async (i) => {
      const r = await publish(gql, TYPES.tp, samplePayload(i, Date.now()));
      if (r.deliveryCount !== FANOUT)
        throw new Error(`expected ${FANOUT} deliveries, got ${r.deliveryCount}`);
    });
    return events;
  });
}

/** The same workload through publishEvents: batches of up to 100 events from 4 concurrent publishers. */
export async function batch(gql: Gql, receiver: RpcClient, deliveries: number, label: string) {
  const events = Math.ceil(deliveries / FANOUT);
  const batches = Math.ceil(events / BATCH_SIZE);
  return endToEnd(receiver, events, label, `${events} events in ${batches} publishEvents calls`, async () => {
    await pooled(batches, BATCH_CLIENTS, async (b) => {
      const first = b * BATCH_SIZE;
      const n = Math.min(BATCH_SIZE, events - first);
      const input = {
        events: Array.from({ length: n }, (_, j) => ({
          type: TYPES.tp,
          payload: samplePayload(first + j, Date.now()),
        })),
      };
      const d = await gql.req<{ publishEvents: any }>(PUBLISH_BATCH, { input });
      const r = d.publishEvents;
      if (r.__typename !== "PublishEventsPayload")
        throw new Error(`publishEvents: ${r.__typename}: ${r.message}`);
      if (r.results.length !== n) throw new Error(`publishEvents: ${n} events, ${r.results.length} results`);
      for (const item of r.results) {
        if (item.deliveryCount !== FANOUT)
          throw new Error(`expected ${FANOUT} deliveries, got ${item.deliveryCount}`);
      }
    });
    return events;
  });
}

/**
 * Runs `publishAll` (which publishes `events` events of the 10-endpoint type and resolves with how many it
 * published), then waits for every delivery; the rate counts from the first publish to the last receipt.
 */
async function endToEnd(
  receiver: RpcClient,
  events: number,
  label: string,
  what: string,
  publishAll: () => Promise<number>,
) {
  const total = events * FANOUT;
  await receiver.call("reset");
  const t0 = nowMs();
  const published = await publishAll();
  const publishMs = nowMs() - t0;
  const atPublishEnd = await receiver.call<ReceiverStats>("stats");
  const timeoutMs = Math.max(120_000, total / 50);
  const s = await waitForReceipts(receiver, total, timeoutMs);
  const elapsedMs = (s.complete ? s.lastAt : nowMs()) - t0;
  const perSec = (s.unique / elapsedMs) * 1000;
  // Steady state: the median of the whole seconds between the first and last receipt.
  const inner = s.perSecond.slice(1, -1).map(([, n]) => n);
  const steady = inner.length >= 3 ? median(inner) : null;
  // Once publishing is over, what is left is the dispatcher draining the backlog on its own.
  const left = s.unique - atPublishEnd.unique;
  const drainMs = s.lastAt - (t0 + publishMs);
  const drainPerSec = left >= 1000 && drainMs > 500 ? (left / drainMs) * 1000 : null;
  log(
    `${label}: ${Math.round(perSec)} deliveries/s (${s.unique}/${total} in ${Math.round(elapsedMs)} ms; publishing ${what} took ${Math.round(publishMs)} ms; steady ${steady ?? "n/a"}/s; after publishing ${drainPerSec ? Math.round(drainPerSec) : "n/a"}/s for the last ${left}; ${s.duplicates} duplicates)${s.complete ? "" : " INCOMPLETE"}`,
  );
  return {
    perSec,
    deliveries: s.unique,
    expected: total,
    events: published,
    complete: s.complete,
    elapsedMs,
    publishMs,
    steadyPerSec: steady,
    drainAfterPublishPerSec: drainPerSec,
    backlogAtPublishEnd: left,
    duplicates: s.duplicates,
  };
}
