/**
 * Real receivers and setup helpers for the delivery tests. Receivers listen on 127.0.0.1 port 0, record
 * every request (raw body included, for signature checks) and answer through a replaceable handler.
 * Every wait is bounded; every receiver must be closed (close() also cuts held connections).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Config } from "../../src/config.js";
import { ok, type TestHookgate } from "../support/hookgate.js";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Handler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Replace how the receiver answers (default: 200 "ok"). */
  handle(handler: Handler): void;
  /** Resolves once `n` requests have arrived; throws after timeoutMs. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(handler?: Handler): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let current: Handler =
    handler ??
    ((_req, res) => {
      res.end("ok");
    });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      requests.push(r);
      Promise.resolve(current(r, res)).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/hook`,
    requests,
    handle(h) {
      current = h;
    },
    async waitFor(n, timeoutMs = 10_000) {
      await until(
        () => requests.length >= n,
        timeoutMs,
        () => `${n} requests (got ${requests.length})`,
      );
      return requests.slice(0, n);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` until it is truthy; throws with `what()` after timeoutMs. */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what: () => string = () => "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Compressed delivery timings for tests. */
export const FAST: Partial<Config> = {
  retryScheduleMs: [50, 100, 150],
  retryJitter: 0,
  pollIntervalMs: 200,
  // Long beside the tests' receivers, which answer at once: a loaded CI machine can stall a test
  // process's event loop for seconds, and an attempt that times out is rightly sent again (an extra
  // request a test counting receipts would trip on). Tests of timeouts and leases set their own.
  attemptTimeoutMs: 10_000,
  leaseMs: 30_000,
  shutdownGraceMs: 2000,
  allowInsecureUrls: true,
};

export async function createEventType(h: TestHookgate, name: string, schema?: unknown, key?: string) {
  const res = ok(
    await h.gql(
      `mutation($input: CreateEventTypeInput!) { createEventType(input: $input) {
         __typename ... on CreateEventTypePayload { eventType { id name } } ... on Error { message } } }`,
      { input: { name, ...(schema !== undefined ? { schema } : {}) } },
      key,
    ),
  );
  if (res.createEventType.__typename !== "CreateEventTypePayload")
    throw new Error(`createEventType: ${JSON.stringify(res.createEventType)}`);
  return res.createEventType.eventType as { id: string; name: string };
}

export interface EndpointOpts {
  events?: string[];
  secret?: string;
  headers?: { name: string; value: string }[];
  includeChildTenants?: boolean;
  rateLimitPerSecond?: number;
  tenantId?: string;
}

export async function createEndpoint(h: TestHookgate, url: string, opts: EndpointOpts = {}, key?: string) {
  const res = ok(
    await h.gql(
      `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) {
         __typename ... on CreateEndpointPayload { endpoint { id } secret } ... on Error { message } } }`,
      { input: { url, ...opts, events: opts.events ?? ["*"] } },
      key,
    ),
  );
  if (res.createEndpoint.__typename !== "CreateEndpointPayload")
    throw new Error(`createEndpoint: ${JSON.stringify(res.createEndpoint)}`);
  return { id: res.createEndpoint.endpoint.id as string, secret: res.createEndpoint.secret as string };
}

export const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) {
  __typename
  ... on PublishEventPayload { deliveryCount event { id type payload idempotencyKey createdAt test } }
  ... on ValidationError { message fieldErrors { path message } }
  ... on Error { message code } } }`;

export async function publish(
  h: TestHookgate,
  type: string,
  payload: unknown,
  extra: { idempotencyKey?: string; tenantId?: string } = {},
  key?: string,
) {
  const res = ok(await h.gql(PUBLISH, { input: { type, payload, ...extra } }, key));
  return res.publishEvent;
}

/** Delivery row straight from the database (snake_case). */
export async function deliveryRow(h: TestHookgate, id: string) {
  const rows = await h.hookgate.app.db.query<Record<string, any>>("SELECT * FROM deliveries WHERE id = $1", [
    id,
  ]);
  return rows[0];
}

export async function deliveriesOf(h: TestHookgate, eventId: string) {
  return h.hookgate.app.db.query<Record<string, any>>(
    "SELECT * FROM deliveries WHERE event_id = $1 ORDER BY id",
    [eventId],
  );
}

export async function attemptsOf(h: TestHookgate, deliveryId: string) {
  return h.hookgate.app.db.query<Record<string, any>>(
    "SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY created_at, attempt_number",
    [deliveryId],
  );
}

/** Waits until the delivery has the status (and returns its row). */
export async function waitForStatus(h: TestHookgate, id: string, status: string, timeoutMs = 10_000) {
  let last: Record<string, any> | undefined;
  await until(
    async () => {
      last = await deliveryRow(h, id);
      return last?.status === status;
    },
    timeoutMs,
    () => `delivery ${id} to be ${status} (is ${last?.status})`,
  );
  return last!;
}
