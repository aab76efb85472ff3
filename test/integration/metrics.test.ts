import type { ServerResponse } from "node:http";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher, type Dispatcher } from "../../src/dispatcher/index.js";
import { PROCESS_METRICS_PREFIX } from "../../src/metrics.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
} from "./delivery-fixtures.js";
import { wsClient, wsSubscribe } from "./live-fixtures.js";

// Every metric Hookgate declares must count: scrape /metrics before real traffic, during it and after
// it, and require each declared metric (taken from the registry, so a new metric that never records
// fails here) to have at least one series whose value changed. Gauges are instantaneous, so they are
// compared in every scrape taken while the traffic is under way.

type Samples = Map<string, number>;

function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The metric a series belongs to: its name without labels and without histogram suffixes. */
function metricOf(series: string, names: Set<string>): string | undefined {
  const name = series.split("{")[0]!;
  if (names.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return names.has(base) ? base : undefined;
}

const SUBSCRIPTION = `subscription Live { deliveryUpdated { delivery { id status } } }`;

describe("/metrics", () => {
  let h: TestHookgate;
  let receiver: Receiver;
  let failing: Receiver;
  let dispatcher: Dispatcher | undefined;
  let ws: Client | undefined;
  let release: (() => void) | undefined;

  beforeAll(async () => {
    // One retry a minute away: a failed first attempt leaves its delivery RETRYING for the test.
    h = await startTestHookgate({ config: { ...FAST, retryScheduleMs: [60_000] } });
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    receiver = await startReceiver(async (_req, res: ServerResponse) => {
      await held;
      res.end("ok");
    });
    failing = await startReceiver((_req, res) => {
      res.statusCode = 500;
      res.end("down");
    });
    // Starting a database takes long on a loaded 2-core machine.
  }, 180_000);
  afterAll(async () => {
    release?.();
    await ws?.dispose();
    await dispatcher?.stop();
    await receiver?.close();
    await failing?.close();
    await h?.stop();
  });

  async function scrape(): Promise<Samples> {
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    return parse(await res.text());
  }

  it("moves every declared metric under real traffic", async () => {
    const registry = h.hookgate.app.metrics.registry;
    const declared = new Set(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .filter((n) => !n.startsWith(PROCESS_METRICS_PREFIX)),
    );
    const pooled = h.database.kind === "postgres";
    // PGlite is one in-process connection: no pool, and the pool metrics are not registered.
    expect(declared.has("hookgate_db_pool_waiting_requests")).toBe(pooled);

    const before = await scrape();
    const during: Samples[] = [];
    const sample = async () => {
      during.push(await scrape());
    };

    await createEventType(h, "order.created");
    await createEndpoint(h, receiver.url, { events: ["order.created"] });
    await createEndpoint(h, failing.url, { events: ["order.created"] });
    // Two identical subscriptions of one key share one execution per update.
    ws = wsClient(h.graphqlUrl, h.adminKey);
    const a = wsSubscribe(ws, SUBSCRIPTION);
    const b = wsSubscribe(ws, SUBSCRIPTION);
    await until(
      async () => (await scrape()).get("hookgate_graphql_subscriptions") === 2,
      10_000,
      () => "2 subscriptions",
    );

    // No dispatcher yet: the deliveries wait, due.
    for (let i = 0; i < 3; i++) await publish(h, "order.created", { n: i });
    // The queue gauges are sampled at most once a second (DB_SAMPLE_MIN_INTERVAL_MS): a scrape right
    // after the previous one may still show its sample.
    await until(
      async () => {
        await sample();
        return during.at(-1)!.get("hookgate_deliveries_due") === 6;
      },
      10_000,
      () => `6 deliveries due, saw ${during.at(-1)!.get("hookgate_deliveries_due")}`,
    );
    expect(during.at(-1)!.get('hookgate_deliveries{status="pending"}')).toBe(6);

    if (pooled) {
      // Many requests at once on a pool of 5: some wait for a connection while /metrics is read.
      await until(
        async () => {
          const burst = Array.from({ length: 40 }, (_, i) => publish(h, "order.created", { burst: i }));
          const seen = await Promise.all([scrape(), scrape(), scrape()]);
          await Promise.all(burst);
          during.push(...seen);
          return seen.some((s) => (s.get("hookgate_db_pool_waiting_requests") ?? 0) > 0);
        },
        20_000,
        () => "a scrape that sees queries waiting for a pool connection",
      );
    }

    // The dispatcher sends; the held receiver keeps an attempt in flight while we look.
    dispatcher = createDispatcher(h.hookgate.app);
    await dispatcher.start();
    await receiver.waitFor(1);
    await failing.waitFor(1);
    await until(
      async () => {
        await new Promise((r) => setTimeout(r, 1_100)); // the database sample is reused for 1 s
        await sample();
        const s = during.at(-1)!;
        return (s.get('hookgate_deliveries{status="retrying"}') ?? 0) > 0;
      },
      15_000,
      () => "a retrying delivery in the metrics",
    );
    release!();
    await a.results.take(1);
    await b.results.take(1);
    // Invalid operations count too (outcome="error").
    const bad = await h.gql(`query Broken { endpoint(id: "ep_nope") { id nope } }`);
    expect(bad.errors?.length).toBeGreaterThan(0);
    ok(await h.gql(`query Who { viewer { scopes } }`));

    ws.dispose();
    ws = undefined;
    await until(
      async () => (await scrape()).get("hookgate_graphql_subscriptions") === 0,
      10_000,
      () => "subscriptions back to 0 after the socket closed",
    );
    const after = await scrape();

    const moved = new Set<string>();
    for (const snapshot of [...during, after]) {
      for (const [series, value] of snapshot) {
        const metric = metricOf(series, declared);
        if (metric && value !== (before.get(series) ?? 0)) moved.add(metric);
      }
    }
    const still = [...declared].filter((m) => !moved.has(m)).sort();
    expect(still, "metrics that never moved").toEqual([]);

    // A few exact values where the traffic fixes them.
    expect(after.get('hookgate_graphql_operations_total{type="subscription",outcome="ok"}')).toBe(2);
    expect(after.get('hookgate_graphql_operations_total{type="query",outcome="ok"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(after.get('hookgate_graphql_operations_total{type="query",outcome="error"}')).toBe(1);
    expect(after.get('hookgate_graphql_operation_duration_seconds_count{operation="Who",type="query"}')).toBe(
      1,
    );
    expect(after.get('hookgate_http_requests_total{route="/graphql",status="2xx"}')).toBeGreaterThan(0);
    expect(after.get('hookgate_http_requests_total{route="/metrics",status="2xx"}')).toBeGreaterThan(0);
    expect(after.get("hookgate_graphql_ws_connections")).toBe(0);
    expect(
      Math.max(...during.map((s) => s.get("hookgate_delivery_attempts_in_flight") ?? 0)),
    ).toBeGreaterThan(0);
  });
});
