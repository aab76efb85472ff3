/**
 * Batched outcome writes. Finished (or given back) claims queue here; a writer takes everything queued
 * since the last write and records it in ONE statement (queue.ts completeBatch): the fenced delivery
 * updates, the attempt rows, endpoint health. Status signals go out after the statement committed,
 * through Database.signal: PostgreSQL serialises the commits of transactions that NOTIFY, each waiting
 * for its own WAL flush. This path must not throw: a failed write leaves the lease to expire, and the
 * delivery is attempted again (at-least-once).
 */
import pRetry from "p-retry";
import { isUnavailableError } from "../db/availability.js";
import type { App } from "../domain/app.js";
import { DELIVERY_UPDATES_CHANNEL, encodeDeliveryUpdate } from "../domain/signals.js";
import { type ClaimedRow, type Completion, completeBatch, type Health } from "./queue.js";
import { retryTransient } from "./retry.js";

/** A finished (or given back) claim waiting to be written, and the status signal to send once it is. */
export interface Outcome {
  completion: Completion;
  signal: string;
}

const MAX_COMPLETIONS_PER_WRITE = 500;
const MAX_COMPLETION_BYTES_PER_WRITE = 8 * 1024 * 1024;

export interface CompletionHooks {
  /** A batch was written (or given up on): room for more claims, maybe idle. */
  written(): void;
  /** A completion schedules its delivery again this many ms from now. */
  due(at: number): void;
  crashed(): boolean;
  /** True once outcomes may be left to their leases after all (a stop past its grace during an outage). */
  abandon(): boolean;
}

export class CompletionWriter {
  private readonly queue: Outcome[] = [];
  private readonly health = new Map<string, Health>();
  private readonly writers = new Set<Promise<void>>();
  private writerScheduled = false;
  private readonly maxWriters: number;
  /** Claims whose completion is queued or being written. */
  unflushed = 0;

  constructor(
    private readonly app: App,
    private readonly disableAfterMs: number,
    private readonly log: App["logger"],
    private readonly hooks: CompletionHooks,
  ) {
    this.maxWriters = app.db.kind === "postgres" ? 2 : 1;
  }

  /** Queues an outcome; counts as unflushed until written. */
  enqueue(o: Outcome): void {
    this.unflushed++;
    if (this.hooks.crashed()) return;
    this.queue.push(o);
    if (o.completion.delay_ms !== null) this.hooks.due(Date.now() + o.completion.delay_ms);
    this.scheduleWriter();
  }

  /** The endpoint's latest health from a real answer ("gone" sticks until written). */
  noteHealth(endpointId: string, h: Health): void {
    if (this.health.get(endpointId) !== "gone") this.health.set(endpointId, h);
  }

  /** A crash drops everything queued. */
  dropQueued(): void {
    this.queue.length = 0;
  }

  /** Resolves once the writers running now are done (a crash waits for nothing else). */
  async settled(): Promise<void> {
    await Promise.all(this.writers);
  }

  /** Resolves once every queued completion is written (or dropped by a crash). */
  async drain(): Promise<void> {
    while (this.writers.size > 0 || (this.queue.length > 0 && !this.hooks.crashed())) {
      if (this.writers.size === 0) this.startWriter();
      await Promise.all(this.writers);
    }
  }

  /**
   * Starts a writer on the next turn (so completions of one tick share a statement) unless enough are
   * running. Postgres gets two writers so one statement's round trip overlaps the next one's batching.
   */
  private scheduleWriter(): void {
    if (this.writerScheduled || this.writers.size >= this.maxWriters || this.queue.length === 0) return;
    this.writerScheduled = true;
    setImmediate(() => {
      this.writerScheduled = false;
      this.startWriter();
    });
  }

  private startWriter(): void {
    if (this.hooks.crashed() || this.writers.size >= this.maxWriters || this.queue.length === 0) return;
    const writer = this.writeLoop().finally(() => {
      this.writers.delete(writer);
      this.scheduleWriter();
    });
    this.writers.add(writer);
  }

  /** Writes queued completions until none are left. This path must not throw. */
  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0 && !this.hooks.crashed()) {
      const batch = takeBatch(this.queue);
      const health = new Map(this.health);
      this.health.clear();
      // More queued already? Let a second writer take them while this statement is in flight.
      this.scheduleWriter();
      await this.writeBatch(batch, health);
      this.unflushed -= batch.length;
      this.hooks.written();
    }
  }

  private async writeBatch(batch: Outcome[], health: Map<string, Health>): Promise<void> {
    // `sent`: these outcomes went to the database before, so that write may have committed unheard.
    const write = (items: Outcome[], h: Map<string, Health>, sent: boolean) => {
      let tries = sent ? 1 : 0;
      const once = () =>
        completeBatch(
          this.app.db,
          items.map((o) => o.completion),
          h,
          this.disableAfterMs,
          { retry: tries++ > 0 },
        );
      return this.outlastOutage(items, () =>
        retryTransient(once, { retries: 4, minTimeout: 50, maxTimeout: 2000 }, this.hooks.crashed),
      );
    };
    try {
      const res = await write(batch, health, false);
      this.afterWrite(batch, res.updated, res.disabled);
    } catch (err) {
      if (batch.length === 1) {
        // Leave it: the lease expires and the delivery is attempted again (at-least-once).
        this.log.error({ err, delivery: batch[0].completion.id }, "recording a delivery outcome failed");
        return;
      }
      // One bad row fails the whole statement; isolate it so the others are recorded.
      this.log.warn({ err, size: batch.length }, "batched completion failed; writing one by one");
      for (const o of batch) {
        const c = o.completion;
        try {
          const h = new Map<string, Health>();
          const eh = health.get(c.endpoint_id);
          if (eh && c.attempted) h.set(c.endpoint_id, eh);
          const res = await write([o], h, true);
          this.afterWrite([o], res.updated, res.disabled);
        } catch (e) {
          this.log.error({ err: e, delivery: c.id }, "recording a delivery outcome failed");
        }
      }
    }
  }

  /**
   * Keeps outcomes across a database outage of any length: while the database is unreachable the write
   * is tried again (p-retry, backoff to 2 s) until it succeeds. An outcome dropped here would be sent
   * again once its lease expired, so a success would be delivered twice. The write is idempotent (see
   * queue.ts completeBatch), so trying again after a write whose reply was lost is harmless. Only a
   * crash, or a stop past its grace, gives up (the lease then decides: at-least-once).
   */
  private outlastOutage<T>(items: Outcome[], write: () => Promise<T>): Promise<T> {
    let warned = false;
    return pRetry(write, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 100,
      maxTimeout: 2000,
      shouldRetry: ({ error }) => isUnavailableError(error) && !this.hooks.crashed() && !this.hooks.abandon(),
      onFailedAttempt: ({ error }) => {
        if (warned || !isUnavailableError(error)) return;
        warned = true;
        this.log.warn({ outcomes: items.length }, "database unavailable: keeping outcomes until it returns");
      },
    });
  }

  private afterWrite(batch: Outcome[], updated: Set<string>, disabled: { id: string; disable: string }[]) {
    for (const { completion: c, signal } of batch) {
      // Only changes that took effect are announced (a fenced-off late completion changed nothing).
      if (updated.has(c.id)) this.app.db.signal(DELIVERY_UPDATES_CHANNEL, signal);
      else if (c.attempted) {
        this.log.warn(
          { delivery: c.id, lock: c.lock },
          "late completion: the lease had been taken over; attempt recorded, delivery left as is",
        );
      }
    }
    for (const d of disabled) this.log.warn({ endpoint: d.id, reason: d.disable }, "endpoint disabled");
  }
}

function takeBatch(queue: Outcome[]): Outcome[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < MAX_COMPLETIONS_PER_WRITE) {
    const c = queue[n].completion;
    bytes += (c.resp_body?.length ?? 0) + 512;
    n++;
    if (bytes >= MAX_COMPLETION_BYTES_PER_WRITE) break;
  }
  return queue.splice(0, n);
}

export function emptyCompletion(row: ClaimedRow, lock: string): Omit<Completion, "status" | "delay_ms"> {
  return {
    id: row.id,
    lock,
    attempted: false,
    attempt_id: null,
    attempt_number: null,
    url: null,
    att_status: null,
    trigger: null,
    req_headers: null,
    resp_code: null,
    resp_body: null,
    duration_ms: null,
    error: null,
    endpoint_id: row.endpoint_id,
  };
}

/** Gives a claim back without an attempt: due again in delayMs, with the status it had before. */
export function releaseOutcome(row: ClaimedRow, lock: string, delayMs: number): Outcome {
  // A row re-claimed after an expired lease was SENDING before; say what it really is.
  const status =
    row.prev_status === "SENDING" ? (row.attempt_count > 0 ? "RETRYING" : "PENDING") : row.prev_status;
  return {
    completion: {
      ...emptyCompletion(row, lock),
      status: status as Completion["status"],
      delay_ms: delayMs,
    },
    signal: signalFor(row, null, status),
  };
}

export function signalFor(row: ClaimedRow, attemptId: string | null, status: string): string {
  return encodeDeliveryUpdate({
    d: row.id,
    a: attemptId,
    t: row.tenant_path,
    e: row.endpoint_id,
    y: row.event_type,
    s: status,
  });
}
