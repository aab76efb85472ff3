import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * One registry per process, served at /metrics. The dispatcher and the API both record
 * here; neither imports the other.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "hookgate_process_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "hookgate_http_requests_total",
      help: "HTTP requests served, by route and status class",
      labelNames: ["route", "status"] as const,
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: "hookgate_graphql_operations_total",
      help: "GraphQL operations executed, by type and outcome",
      labelNames: ["type", "outcome"] as const,
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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
