/**
 * Real subscription clients for the live tests: graphql-ws over `ws`, and SSE over fetch.
 * Every wait is bounded; every client must be closed by the test (close()).
 */
import { type Client, createClient } from "graphql-ws";
import { WebSocket } from "ws";
import type { Database } from "../../src/db/database.js";
import type { DeliveryUpdateHub } from "../../src/domain/live.js";
import {
  DELIVERY_UPDATES_CHANNEL,
  type DeliveryUpdateSignal,
  encodeDeliveryUpdate,
} from "../../src/domain/signals.js";

export interface Received<T = any> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** Collected results of one subscription with a bounded wait for the n-th. */
export class Collector<T = any> {
  readonly results: Received<T>[] = [];
  completed = false;
  error: unknown = null;
  private waiters: (() => void)[] = [];

  push(r: Received<T>) {
    this.results.push(r);
    this.wake();
  }
  complete() {
    this.completed = true;
    this.wake();
  }
  fail(err: unknown) {
    this.error = err;
    this.wake();
  }

  /** Resolves with the first `n` results; throws after `timeoutMs` or if the stream ends first. */
  async take(n: number, timeoutMs = 5_000): Promise<Received<T>[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.results.length < n) {
      if (this.error) throw new Error(`subscription failed: ${describe(this.error)}`);
      if (this.completed)
        throw new Error(`subscription completed after ${this.results.length} of ${n} results`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${n} results; got ${JSON.stringify(this.results)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.results.slice(0, n);
  }

  /** Waits until the stream has ended (completed or failed). */
  async ended(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.completed && !this.error) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the subscription to end");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return JSON.stringify(err);
  if (err && typeof err === "object" && "code" in err) {
    const e = err as { code: unknown; reason?: unknown };
    return `close ${String(e.code)} ${String(e.reason ?? "")}`;
  }
  return String(err);
}

export function wsClient(graphqlUrl: string, key: string): Client {
  return createClient({
    url: graphqlUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: true,
  });
}

export function wsSubscribe<T = any>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): { results: Collector<T>; unsubscribe: () => void } {
  const results = new Collector<T>();
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (r) => results.push(r as Received<T>),
      error: (e) => results.fail(e),
      complete: () => results.complete(),
    },
  );
  return { results, unsubscribe };
}

/** A subscription over SSE (POST, Accept: text/event-stream), parsed event by event. */
export function sseSubscribe<T = any>(
  graphqlUrl: string,
  key: string,
  query: string,
  variables?: Record<string, unknown>,
): { results: Collector<T>; status: Promise<number>; close: () => Promise<void> } {
  const results = new Collector<T>();
  const abort = new AbortController();
  let resolveStatus: (s: number) => void = () => {};
  const status = new Promise<number>((r) => {
    resolveStatus = r;
  });
  const done = (async () => {
    try {
      const res = await fetch(graphqlUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: abort.signal,
      });
      resolveStatus(res.status);
      if (!res.body) throw new Error("SSE response without a body");
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffered.indexOf("\n\n");
        while (end >= 0) {
          const message = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf("\n\n");
          let event = "message";
          const data: string[] = [];
          for (const line of message.split("\n")) {
            if (line.startsWith(":")) continue;
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (event === "next") results.push(JSON.parse(data.join("\n")));
          else if (event === "complete") results.complete();
        }
      }
      results.complete();
    } catch (err) {
      resolveStatus(0);
      if (!abort.signal.aborted) results.fail(err);
    }
  })();
  return {
    results,
    status,
    close: async () => {
      abort.abort();
      await done;
    },
  };
}

/**
 * Waits (bounded) until the hub has `n` subscribers and listens: an update sent after this is
 * delivered to all of them.
 */
export async function untilSubscribed(hub: DeliveryUpdateHub, n: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (hub.subscriberCount < n) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${n} live subscribers; have ${hub.subscriberCount}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await hub.ready();
}

/** Waits (bounded) until the hub has no subscribers and has stopped listening. */
export async function untilIdle(hub: DeliveryUpdateHub, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (hub.subscriberCount > 0 || hub.isListening) {
    if (Date.now() > deadline) {
      throw new Error(`hub still busy: ${hub.subscriberCount} subscribers, listening=${hub.isListening}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Emits a delivery update the way the dispatcher does: NOTIFY on the channel. */
export function emitUpdate(db: Database, signal: DeliveryUpdateSignal): Promise<void> {
  return db.notify(DELIVERY_UPDATES_CHANNEL, encodeDeliveryUpdate(signal));
}

export function signalFor(
  delivery: { id: string; endpointId: string; eventType: string },
  tenantPath: string,
  status: string,
  attemptId: string | null = null,
): DeliveryUpdateSignal {
  return {
    d: delivery.id,
    a: attemptId,
    t: tenantPath,
    e: delivery.endpointId,
    y: delivery.eventType,
    s: status,
  };
}
