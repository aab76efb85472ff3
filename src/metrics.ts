import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "./db/database.js";

/** Prefix of the Node.js process metrics (prom-client's defaults); everything else is Hookgate's own. */
export const PROCESS_METRICS_PREFIX = "hookgate_process_";

/**
 * One registry per process, served at /metrics. The dispatcher and the API both record
 * here; neither imports the other. Every metric declared here is recorded somewhere
 * (test/integration/metrics.test.ts scrapes before and after real traffic and fails on one
 * that never moves); the database gauges are filled at scrape time by `watchDatabase`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PROCESS_METRICS_PREFIX });
  return {
    registry,
    httpRequests: new Counter({
      name: "hookgate_http_requests_total",
      help: "HTTP requests answered, by route and status class (2xx, 4xx, ...); WebSocket upgrades excluded",
      labelNames: ["route", "status"] as const,
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: "hookgate_graphql_operations_total",
      help: "GraphQL operations executed over HTTP, SSE and WebSocket, by type and outcome (ok, error)",
      labelNames: ["type", "outcome"] as const,
      registers: [registry],
    }),
    graphqlDuration: new Histogram({
      name: "hookgate_graphql_operation_duration_seconds",
      help: "Execution time of GraphQL queries and mutations, by operation name (first 200 names; then 'other')",
      labelNames: ["operation", "type"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    graphqlSubscriptions: new Gauge({
      name: "hookgate_graphql_subscriptions",
      help: "GraphQL subscriptions open now (WebSocket and SSE)",
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: "hookgate_events_published_total",
      help: "Events accepted by publishEvent",
      registers: [registry],
    }),
    deliveriesCreated: new Counter({
      name: "hookgate_deliveries_created_total",
      help: "Deliveries created by fan-out, tests and replays",
      registers: [registry],
    }),
    attempts: new Counter({
      name: "hookgate_delivery_attempts_total",
      help: "Delivery attempts made, by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: "hookgate_delivery_attempt_duration_seconds",
      help: "Duration of delivery attempts",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "hookgate_delivery_attempts_in_flight",
      help: "Delivery attempts currently in flight in this process",
      registers: [registry],
    }),
    subscriptionExecutions: new Counter({
      name: "hookgate_subscription_executions_total",
      help: "Subscription events executed (once per event and audience of identical subscribers)",
      registers: [registry],
    }),
    subscriptionResultsShared: new Counter({
      name: "hookgate_subscription_results_shared_total",
      help: "Subscription results sent to a subscriber from an execution done for another",
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: "hookgate_graphql_ws_connections",
      help: "Open graphql-ws connections",
      registers: [registry],
    }),
    deliveriesDue: new Gauge({
      name: "hookgate_deliveries_due",
      help: `Deliveries due now and not yet claimed (whole database; counted up to ${DB_COUNT_CAP})`,
      registers: [registry],
    }),
    oldestDueAge: new Gauge({
      name: "hookgate_deliveries_oldest_due_age_seconds",
      help: "How long the longest-waiting due delivery has been due (0 when none is due)",
      registers: [registry],
    }),
    deliveriesByStatus: new Gauge({
      name: "hookgate_deliveries",
      help: `Deliveries with work left, by status: pending, sending, retrying (whole database; counted up to ${DB_COUNT_CAP})`,
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    dbPoolConnections: new Gauge({
      name: "hookgate_db_pool_connections",
      help: "PostgreSQL pool connections of this process, by state (in_use, idle); absent on PGlite",
      labelNames: ["state"] as const,
      registers: [registry],
    }),
    dbPoolWaiting: new Gauge({
      name: "hookgate_db_pool_waiting_requests",
      help: "Queries waiting for a PostgreSQL pool connection in this process; absent on PGlite",
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Counts from the database stop at this many rows, so a scrape costs at most one bounded index scan. */
export const DB_COUNT_CAP = 100_000;
/** Scrapes closer together than this reuse the last database sample. */
export const DB_SAMPLE_MIN_INTERVAL_MS = 1_000;

const LIVE_STATUSES = ["PENDING", "SENDING", "RETRYING"] as const;

interface DbSample {
  due: number;
  oldestDueAgeSeconds: number;
  byStatus: Map<string, number>;
}

/**
 * Fills the database gauges at scrape time: the pool's state from the driver (free), the queue's
 * state from two bounded scans of the due index on deliveries.next_attempt_at (set exactly while a
 * delivery has work left; "due" also means no live lease, as for a claim: see dispatcher/queue.ts), sampled at most every DB_SAMPLE_MIN_INTERVAL_MS. An
 * idle process with nobody scraping queries nothing.
 */
export function watchDatabase(
  metrics: Metrics,
  db: Database,
  opts: { minIntervalMs?: number; onError?: (err: unknown) => void } = {},
) {
  const minIntervalMs = opts.minIntervalMs ?? DB_SAMPLE_MIN_INTERVAL_MS;
  let last: { at: number; sample: DbSample } | undefined;
  let pending: Promise<DbSample> | undefined;

  async function sample(): Promise<DbSample | undefined> {
    if (last && Date.now() - last.at < minIntervalMs) return last.sample;
    pending ??= readQueue(db).finally(() => {
      pending = undefined;
    });
    try {
      const s = await pending;
      last = { at: Date.now(), sample: s };
      return s;
    } catch (err) {
      // A scrape must still answer while the database is away: the gauges keep their last values.
      opts.onError?.(err);
      return last?.sample;
    }
  }

  // prom-client awaits every collect() before it renders; one sample serves the three gauges.
  let current: Promise<DbSample | undefined> | undefined;
  const shared = () => {
    current ??= sample().finally(() => {
      setImmediate(() => {
        current = undefined;
      });
    });
    return current;
  };
  const { deliveriesDue, oldestDueAge, deliveriesByStatus, dbPoolConnections, dbPoolWaiting } = metrics;
  if (!db.poolStats()) {
    // No pool (PGlite): the pool metrics are left out rather than reporting a pool that is not there.
    metrics.registry.removeSingleMetric("hookgate_db_pool_connections");
    metrics.registry.removeSingleMetric("hookgate_db_pool_waiting_requests");
  }
  (deliveriesDue as any).collect = async () => {
    const s = await shared();
    if (s) deliveriesDue.set(s.due);
  };
  (oldestDueAge as any).collect = async () => {
    const s = await shared();
    if (s) oldestDueAge.set(s.oldestDueAgeSeconds);
  };
  (deliveriesByStatus as any).collect = async () => {
    const s = await shared();
    if (!s) return;
    for (const status of LIVE_STATUSES) {
      deliveriesByStatus.set({ status: status.toLowerCase() }, s.byStatus.get(status) ?? 0);
    }
  };
  (dbPoolConnections as any).collect = () => {
    const stats = db.poolStats();
    if (!stats) return;
    dbPoolConnections.set({ state: "in_use" }, stats.inUse);
    dbPoolConnections.set({ state: "idle" }, stats.idle);
  };
  (dbPoolWaiting as any).collect = () => {
    const stats = db.poolStats();
    if (stats) dbPoolWaiting.set(stats.waiting);
  };
}

async function readQueue(db: Database): Promise<DbSample> {
  const [due] = await db.query<{ n: string | number; oldest_age: string | number | null }>(
    `SELECT count(*) AS n, extract(epoch FROM now() - min(next_attempt_at)) AS oldest_age
       FROM (SELECT next_attempt_at FROM deliveries
              WHERE next_attempt_at <= now() AND (lease_expires_at IS NULL OR lease_expires_at <= now())
             ORDER BY next_attempt_at LIMIT ${DB_COUNT_CAP}) d`,
  );
  const rows = await db.query<{ status: string; n: string | number }>(
    `SELECT status, count(*) AS n
       FROM (SELECT status FROM deliveries WHERE next_attempt_at IS NOT NULL LIMIT ${DB_COUNT_CAP}) d
      GROUP BY status`,
  );
  return {
    due: Number(due?.n ?? 0),
    oldestDueAgeSeconds: Math.max(0, Number(due?.oldest_age ?? 0)),
    byStatus: new Map(rows.map((r) => [r.status, Number(r.n)])),
  };
}
