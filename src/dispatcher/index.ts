/**
 * The dispatcher: claims due deliveries, signs and sends them, records attempts, schedules retries.
 *
 * Design (see also queue.ts for the SQL and the queue invariant):
 * - The deliveries table is the queue. A claim is ONE statement: due rows (next_attempt_at <= now()) in due
 *   order, FOR UPDATE SKIP LOCKED, set to SENDING with next_attempt_at = now() + lease and locked_by = a
 *   per-claim token "<worker id>/<seq>". An expired lease is simply due again: a crashed dispatcher's work
 *   is re-claimed by anyone, with no sweeper. Delivery is therefore at-least-once; receivers deduplicate
 *   on webhook-id (the event id).
 * - The same statement returns the endpoint row (url, headers, status, rate limit, valid secrets) and a
 *   second query loads the batch's events: two queries per batch, whatever its size.
 * - Work then runs locally, bounded by dispatchConcurrency overall and endpointConcurrency per endpoint.
 *   At most dispatchConcurrency + dispatchBatchSize claims wait or run at once (a prefetch buffer, so
 *   slots never wait for a claim round trip); outcomes waiting to be written are bounded separately. Endpoints that already have a full round buffered are excluded
 *   from further claims, so one slow endpoint cannot fill the buffer.
 * - A buffered claim starts only if its lease still covers a whole attempt; otherwise it is released.
 * - Completions are batched: one statement writes the fenced delivery updates, the attempt rows, endpoint
 *   health for everything that finished since the last write. Status signals (SENDING after a claim,
 *   the outcome after a completion) go out after the statement committed, through Database.signal:
 *   PostgreSQL serialises the commits of transactions that NOTIFY, each waiting for its own WAL flush.
 * - Wake-ups: NOTIFY on WAKE_CHANNEL (publish, replay, recover, test), a timer for the earliest retry this
 *   process scheduled, and a slow poll (pollIntervalMs) for everything else (other processes' retries).
 * - Disabled endpoints: a claimed SCHEDULED delivery is CANCELLED without an attempt (recoverEndpoint can
 *   bring it back once the endpoint is enabled again). TEST and REPLAY deliveries are sent anyway: someone
 *   asked for them explicitly.
 * - Deleted endpoints: their existing deliveries are still attempted, retries included ("deliveries
 *   already in flight are still attempted"); disable an endpoint first to stop them.
 * - Rate limits (Endpoint.rateLimitPerSecond) are enforced per process; a claim over the limit is put
 *   back with a delay and no attempt is counted.
 * - Stop: stop claiming, release buffered claims, give in-flight attempts shutdownGraceMs, then abort them
 *   and release their leases. crash() (tests) drops everything without releasing anything.
 *
 * This module never imports GraphQL code.
 */
import { hostname } from "node:os";
import pRetry from "p-retry";
import type { Agent } from "undici";
import type { Config } from "../config.js";
import type { App } from "../domain/app.js";
import { newId } from "../domain/ids.js";
import { DELIVERY_UPDATES_CHANNEL, encodeDeliveryUpdate, WAKE_CHANNEL } from "../domain/signals.js";
import { isSensitiveHeader, REDACTED } from "../security/headers.js";
import { createPinnedDispatcher, type LookupFn } from "../security/url-policy.js";
import { Signer } from "../signing/index.js";
import { type Sending, type SendResult, sanitizeText, sendWebhook, USER_AGENT } from "./http.js";
import {
  type ClaimedRow,
  type Completion,
  claimDue,
  claimLimit,
  completeBatch,
  type EventRow,
  type Health,
  loadEvents,
} from "./queue.js";
import { RateLimiter } from "./rate-limit.js";
import { nextRetryDelay, parseRetryAfter } from "./retry.js";

export interface DispatcherOptions {
  /** Overrides on app.config for this dispatcher only (tests run two with different leases). */
  config?: Partial<Config>;
  /** Defaults to host/pid/random. */
  workerId?: string;
  /** DNS for delivery connections (default app.dnsLookup, else the system's): tests simulate rebinding. */
  lookup?: LookupFn;
}

type DispatcherConfig = Pick<
  Config,
  | "retryScheduleMs"
  | "retryJitter"
  | "retryAfterMaxMs"
  | "attemptTimeoutMs"
  | "leaseMs"
  | "dispatchConcurrency"
  | "endpointConcurrency"
  | "dispatchBatchSize"
  | "pollIntervalMs"
  | "maxResponseBytes"
  | "disableAfterMs"
  | "shutdownGraceMs"
>;

interface Job {
  row: ClaimedRow;
  lock: string;
  /** Local estimate of the lease end, taken BEFORE the claim was sent, so never later than the real one. */
  leaseDeadline: number;
  event: EventRow;
  body: Body;
  sending: Sending | null;
}

/** A finished (or given back) claim waiting to be written, and the status signal to send once it is. */
interface Outcome {
  completion: Completion;
  signal: string;
}

/** An event's envelope, as recorded (text) and as sent and signed (bytes); shared by its deliveries. */
interface Body {
  text: string;
  bytes: Buffer;
}

/**
 * What every request to one endpoint shares, built once per endpoint (and again only when its stored
 * headers or valid secrets change): decrypted custom headers, the recorded (redacted) copy, the signer.
 */
interface EndpointTemplate {
  /** The stored headers JSON and the valid secrets' ciphertexts it was built from. */
  headersText: string;
  secrets: string[];
  /** The request headers but the signature ones, flat (name, value, ...) as undici takes them. */
  headerList: string[];
  recorded: Record<string, string>;
  /** Per signature header name: whether its value is recorded as REDACTED. */
  redactSignature: Record<string, boolean>;
  signer: Signer | null;
  /** Why requests to it cannot be prepared (e.g. no valid secret), else null. */
  error: string | null;
}

const MAX_COMPLETIONS_PER_WRITE = 500;
/** What Signer.headers sets on every attempt. */
const SIGNATURE_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "hookgate-signature"];
const MAX_COMPLETION_BYTES_PER_WRITE = 8 * 1024 * 1024;
const CACHE_LIMIT = 10_000;

export class Dispatcher {
  readonly workerId: string;
  private readonly cfg: DispatcherConfig;
  private readonly agent: Agent;
  private readonly limiter = new RateLimiter();
  private readonly log: App["logger"];
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private crashed = false;
  private claimSeq = 0;
  private unlisten: (() => Promise<void>) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private stopPromise: Promise<void> | null = null;

  // Loop wake-up
  private kickResolve: (() => void) | null = null;
  private kicked = false;
  /** Whether a claim might find due work (set by wake-ups, a full claim, or an excluded endpoint draining). */
  private moreDue = true;
  private pollTimer: NodeJS.Timeout | null = null;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;

  // Local work
  private readonly waiting = new Map<string, Job[]>();
  private waitingCount = 0;
  private readonly inFlight = new Set<Job>();
  private readonly endpointInFlight = new Map<string, number>();
  private excludedAtLastClaim = new Set<string>();
  /** Claims whose completion is queued or being written. */
  private unflushed = 0;
  private idleWaiters: (() => void)[] = [];

  // Completion batching
  private readonly completions: Outcome[] = [];
  private readonly health = new Map<string, Health>();
  private readonly writers = new Set<Promise<void>>();
  private writerScheduled = false;
  private readonly maxWriters: number;

  private readonly plainCache = new Map<string, string>();
  private readonly templates = new Map<string, EndpointTemplate>();
  private readonly attemptCounters = new Map<string, { inc(): void }>();
  /** Attempts made and written by this dispatcher (tests, diagnostics). */
  private attemptsMade = 0;

  constructor(
    private readonly app: App,
    opts: DispatcherOptions = {},
  ) {
    this.cfg = { ...app.config, ...opts.config };
    this.workerId = opts.workerId ?? `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
    this.maxWriters = app.db.kind === "postgres" ? 2 : 1;
    this.log = app.logger.child({ component: "dispatcher", worker: this.workerId });
    this.agent = createPinnedDispatcher(app.urlPolicy, {
      connections: this.cfg.dispatchConcurrency,
      keepAliveTimeout: 10_000,
      connectTimeout: Math.min(this.cfg.attemptTimeoutMs, 10_000),
      lookup: opts.lookup ?? app.dnsLookup,
    });
  }

  /** Claims held before sending (in flight + buffered): a prefetch buffer of one batch. */
  private get maxHeld(): number {
    return this.cfg.dispatchConcurrency + this.cfg.dispatchBatchSize;
  }

  private get held(): number {
    return this.waitingCount + this.inFlight.size;
  }

  /** Backpressure: no new claims while this many outcomes wait to be written (the database is slow). */
  private get maxUnflushed(): number {
    return this.cfg.dispatchConcurrency + 4 * this.cfg.dispatchBatchSize;
  }

  async start(): Promise<void> {
    if (this.state !== "idle") throw new Error("dispatcher already started");
    this.state = "running";
    if (this.cfg.leaseMs <= this.cfg.attemptTimeoutMs) {
      this.log.warn(
        { leaseMs: this.cfg.leaseMs, attemptTimeoutMs: this.cfg.attemptTimeoutMs },
        "lease is not longer than the attempt timeout: slow attempts may be sent twice",
      );
    }
    try {
      this.unlisten = await pRetry(() => this.app.db.listen(WAKE_CHANNEL, () => this.wake()), {
        retries: 3,
        minTimeout: 100,
      });
    } catch (err) {
      // Not fatal: the poll still finds everything, only later.
      this.log.error({ err }, "could not listen for wake-ups; relying on the poll");
    }
    // Not unref'd: a dispatcher-only process has nothing else keeping it alive. stop() clears it.
    this.pollTimer = setInterval(() => this.wake(), this.cfg.pollIntervalMs);
    this.loopDone = this.loop();
  }

  /** Something may be due now. */
  wake(): void {
    this.moreDue = true;
    this.kick();
  }

  private kick(): void {
    this.kicked = true;
    const r = this.kickResolve;
    this.kickResolve = null;
    r?.();
  }

  private waitForKick(): Promise<void> {
    if (this.kicked) return Promise.resolve();
    return new Promise((resolve) => {
      this.kickResolve = resolve;
    });
  }

  private async loop(): Promise<void> {
    while (this.state === "running") {
      this.kicked = false;
      const budget =
        this.unflushed >= this.maxUnflushed
          ? 0
          : Math.min(this.cfg.dispatchBatchSize, this.maxHeld - this.held);
      if (this.moreDue && budget > 0) {
        this.moreDue = false;
        try {
          const limit = claimLimit(budget, this.cfg.dispatchBatchSize, this.app.db.kind !== "postgres");
          const n = await this.claim(limit);
          if (n === limit) this.moreDue = true;
        } catch (err) {
          this.log.error({ err }, "claiming deliveries failed; retrying at the next poll");
        }
        continue;
      }
      await this.waitForKick();
    }
  }

  private async claim(limit: number): Promise<number> {
    const lock = `${this.workerId}/${++this.claimSeq}`;
    const exclude: string[] = [];
    for (const [endpointId, queue] of this.waiting) {
      if (queue.length >= this.cfg.endpointConcurrency) exclude.push(endpointId);
    }
    const leaseDeadline = Date.now() + this.cfg.leaseMs;
    const rows = await this.retryTransient(
      () => claimDue(this.app.db, lock, limit, this.cfg.leaseMs, exclude),
      { retries: 3, minTimeout: 50, maxTimeout: 1000 },
    );
    this.excludedAtLastClaim = new Set(exclude);
    if (rows.length === 0) return 0;
    if (this.crashed) return rows.length; // a crash drops what it holds, claimed or not
    // The claim has committed: announce it (the statement itself does not NOTIFY; see queue.ts).
    for (const row of rows) this.app.db.signal(DELIVERY_UPDATES_CHANNEL, signalFor(row, null, "SENDING"));

    let events: Map<string, EventRow>;
    try {
      const ids = [...new Set(rows.map((r) => r.event_id))];
      const loaded = await this.retryTransient(() => loadEvents(this.app.db, ids), {
        retries: 3,
        minTimeout: 50,
      });
      events = new Map(loaded.map((e) => [e.id, e]));
    } catch (err) {
      // We MUST release: otherwise these deliveries wait a whole lease for nothing.
      this.log.error({ err }, "loading events failed; releasing the claimed deliveries");
      for (const row of rows) this.enqueueCompletion(this.releaseCompletion(row, lock, 0));
      this.unflushed += rows.length;
      return rows.length;
    }
    if (this.crashed) return rows.length;

    const bodies = new Map<string, Body>();
    const refusedPerEndpoint = new Map<string, number>();
    for (const row of rows) {
      const event = events.get(row.event_id);
      if (!event) {
        // Cannot happen while the foreign key holds; give it back rather than guess.
        this.unflushed++;
        this.enqueueCompletion(this.releaseCompletion(row, lock, 1000));
        continue;
      }
      if (row.endpoint_status === "DISABLED" && row.trigger === "SCHEDULED") {
        this.unflushed++;
        this.enqueueCompletion({
          completion: { ...emptyCompletion(row, lock), status: "CANCELLED", delay_ms: null },
          signal: signalFor(row, null, "CANCELLED"),
        });
        continue;
      }
      const rate = row.rate_limit_per_second;
      if (rate != null && rate > 0 && this.limiter.take(row.endpoint_id, rate) > 0) {
        const k = refusedPerEndpoint.get(row.endpoint_id) ?? 0;
        refusedPerEndpoint.set(row.endpoint_id, k + 1);
        this.unflushed++;
        this.enqueueCompletion(
          this.releaseCompletion(row, lock, this.limiter.delayFor(row.endpoint_id, rate, k)),
        );
        continue;
      }
      let body = bodies.get(event.id);
      if (body === undefined) {
        const text = envelope(event);
        body = { text, bytes: Buffer.from(text, "utf8") };
        bodies.set(event.id, body);
      }
      const job: Job = { row, lock, leaseDeadline, event, body, sending: null };
      let queue = this.waiting.get(row.endpoint_id);
      if (!queue) {
        queue = [];
        this.waiting.set(row.endpoint_id, queue);
      }
      queue.push(job);
      this.waitingCount++;
    }
    if (refusedPerEndpoint.size > 0) this.limiter.prune();
    this.pump();
    return rows.length;
  }

  /** Starts waiting jobs while there are free slots overall and per endpoint. */
  private pump(): void {
    if (this.state !== "running") return;
    for (const [endpointId, queue] of this.waiting) {
      if (this.inFlight.size >= this.cfg.dispatchConcurrency) break;
      while (
        queue.length > 0 &&
        this.inFlight.size < this.cfg.dispatchConcurrency &&
        (this.endpointInFlight.get(endpointId) ?? 0) < this.cfg.endpointConcurrency
      ) {
        const job = queue.shift()!;
        this.waitingCount--;
        if (
          this.cfg.leaseMs > this.cfg.attemptTimeoutMs &&
          Date.now() + this.cfg.attemptTimeoutMs > job.leaseDeadline
        ) {
          // Its lease could end mid-attempt and another dispatcher could send it too: give it back.
          this.unflushed++;
          this.enqueueCompletion(this.releaseCompletion(job.row, job.lock, 0));
          continue;
        }
        this.startJob(job);
      }
      if (queue.length === 0) this.waiting.delete(endpointId);
      if (queue.length < this.cfg.endpointConcurrency && this.excludedAtLastClaim.delete(endpointId)) {
        this.moreDue = true;
        this.kick();
      }
    }
  }

  private startJob(job: Job): void {
    const endpointId = job.row.endpoint_id;
    this.inFlight.add(job);
    this.endpointInFlight.set(endpointId, (this.endpointInFlight.get(endpointId) ?? 0) + 1);
    this.app.metrics.inFlight.inc();
    void this.attempt(job)
      .catch((err) => {
        // attempt() turns every expected failure into a completion; this is a bug. The lease will
        // expire and the delivery be sent again: at-least-once holds.
        this.log.error({ err, delivery: job.row.id }, "delivery attempt crashed");
        return null;
      })
      .then((completion) => {
        this.inFlight.delete(job);
        const n = (this.endpointInFlight.get(endpointId) ?? 1) - 1;
        if (n <= 0) this.endpointInFlight.delete(endpointId);
        else this.endpointInFlight.set(endpointId, n);
        this.app.metrics.inFlight.dec();
        if (completion && !this.crashed) {
          this.unflushed++;
          this.enqueueCompletion(completion);
        } else {
          this.kick();
        }
        this.pump();
        this.notifyIdle();
      });
  }

  /** Sends one claimed delivery and returns its completion (null when it must simply be dropped). */
  private async attempt(job: Job): Promise<Outcome | null> {
    const { row, event, body } = job;
    const attemptNumber = row.attempt_count + 1;
    const url = row.target_url ?? row.url;
    const template = this.template(row);
    let headers = template.headerList;
    let signature: Record<string, string> | null = null;
    let prepareError = template.error;
    if (template.signer) {
      try {
        signature = template.signer.headers(event.id, Math.floor(Date.now() / 1000), body.bytes);
        headers = template.headerList.slice();
        for (const name in signature) headers.push(name, signature[name]);
      } catch (err) {
        prepareError = `Could not prepare the request: ${(err as Error).message}`;
      }
    }

    let result: SendResult;
    if (prepareError) {
      result = {
        status: null,
        retryAfter: null,
        body: null,
        durationMs: 0,
        error: prepareError,
        aborted: false,
      };
    } else {
      job.sending = sendWebhook({
        url,
        headers,
        body: body.bytes,
        timeoutMs: this.cfg.attemptTimeoutMs,
        maxResponseBytes: this.cfg.maxResponseBytes,
        dispatcher: this.agent,
      });
      result = await job.sending.result;
    }

    if (result.aborted) {
      if (this.crashed) return null;
      // Shutdown cut it short. We MUST release the lease or the delivery waits a whole lease; it is sent
      // again later (the receiver may have seen this one: at-least-once).
      return this.releaseCompletion(row, job.lock, 0);
    }

    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const gone = result.status === 410;
    let status: Completion["status"];
    let delay: number | null = null;
    if (ok) status = "SUCCEEDED";
    else if (gone) status = "FAILED";
    else {
      const retryAfterMs =
        result.status === 429 || result.status === 503 ? parseRetryAfter(result.retryAfter) : null;
      delay = nextRetryDelay(this.cfg, { attemptNumber, retryAfterMs });
      status = delay === null ? "FAILED" : "RETRYING";
    }

    // Health describes the endpoint's own url; a replay to another url says nothing about it.
    if (row.target_url === null) {
      const h: Health = ok ? "ok" : gone ? "gone" : "fail";
      if (this.health.get(row.endpoint_id) !== "gone") this.health.set(row.endpoint_id, h);
    }

    const outcome = ok ? "succeeded" : result.status === null ? "error" : "failed";
    this.attemptCounter(outcome).inc();
    this.app.metrics.attemptDuration.observe(result.durationMs / 1000);

    let recorded = template.recorded;
    if (signature) {
      recorded = { ...template.recorded };
      for (const name in signature) {
        recorded[name] = template.redactSignature[name] ? REDACTED : signature[name];
      }
    }
    this.attemptsMade++;
    const attemptId = newId("attempt");
    const completion: Completion = {
      id: row.id,
      lock: job.lock,
      status,
      delay_ms: delay,
      attempted: true,
      attempt_id: attemptId,
      attempt_number: attemptNumber,
      url,
      att_status: ok ? "SUCCEEDED" : "FAILED",
      trigger: row.trigger,
      req_headers: recorded,
      req_body: body.text,
      resp_code: result.status,
      resp_body: result.body,
      duration_ms: result.durationMs,
      error: result.error === null ? null : sanitizeText(result.error),
      endpoint_id: row.endpoint_id,
    };
    return { completion, signal: signalFor(row, attemptId, status) };
  }

  /** The endpoint's request template, rebuilt when its stored headers or valid secrets changed. */
  private template(row: ClaimedRow): EndpointTemplate {
    const headersText = typeof row.headers === "string" ? row.headers : JSON.stringify(row.headers ?? null);
    const secrets = row.secrets ?? [];

    const cached = this.templates.get(row.endpoint_id);
    if (cached && cached.headersText === headersText && sameList(cached.secrets, secrets)) return cached;

    // Lower-cased like every header we set, so the recorded headers have one spelling per name.
    const headers: Record<string, string> = {};
    const redact = new Set<string>();
    let signer: Signer | null = null;
    let error: string | null = null;
    try {
      for (const h of decodeHeaderList(headersText)) {
        const name = h.name.toLowerCase();
        headers[name] = h.encrypted ? this.decrypt(h.value) : h.value;
        if (h.encrypted) redact.add(name);
      }
      const plain = secrets.map((c) => this.decrypt(c));
      if (plain.length === 0) throw new Error("The endpoint has no valid signing secret.");
      headers["content-type"] = "application/json";
      headers["user-agent"] = USER_AGENT;
      signer = new Signer(plain);
    } catch (err) {
      error = `Could not prepare the request: ${(err as Error).message}`;
    }
    const headerList: string[] = [];
    const recorded: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      recorded[name] = redact.has(name) || isSensitiveHeader(name) ? REDACTED : value;
      // A signature header is set per attempt and wins over a stored one of the same name.
      if (!SIGNATURE_HEADERS.includes(name)) headerList.push(name, value);
    }
    const redactSignature: Record<string, boolean> = {};
    for (const name of SIGNATURE_HEADERS) redactSignature[name] = redact.has(name) || isSensitiveHeader(name);
    const template: EndpointTemplate = {
      headersText,
      secrets,
      headerList,
      recorded,
      redactSignature,
      signer,
      error,
    };
    if (this.templates.size >= CACHE_LIMIT) this.templates.clear();
    this.templates.set(row.endpoint_id, template);
    return template;
  }

  private attemptCounter(outcome: "succeeded" | "error" | "failed") {
    let c = this.attemptCounters.get(outcome);
    if (!c) {
      c = this.app.metrics.attempts.labels({ outcome });
      this.attemptCounters.set(outcome, c);
    }
    return c;
  }

  private decrypt(ciphertext: string): string {
    let plain = this.plainCache.get(ciphertext);
    if (plain === undefined) {
      plain = this.app.cipher.decrypt(ciphertext);
      if (this.plainCache.size >= CACHE_LIMIT) this.plainCache.clear();
      this.plainCache.set(ciphertext, plain);
    }
    return plain;
  }

  private releaseCompletion(row: ClaimedRow, lock: string, delayMs: number): Outcome {
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

  // ---------------------------------------------------------------------------------------------------
  // Completion writes
  // ---------------------------------------------------------------------------------------------------

  private enqueueCompletion(o: Outcome): void {
    if (this.crashed) return;
    this.completions.push(o);
    if (o.completion.delay_ms !== null) this.scheduleDue(Date.now() + o.completion.delay_ms);
    this.scheduleWriter();
  }

  /**
   * Starts a writer on the next turn (so completions of one tick share a statement) unless enough are
   * running. Postgres gets two writers so one statement's round trip overlaps the next one's batching.
   */
  private scheduleWriter(): void {
    if (this.writerScheduled || this.writers.size >= this.maxWriters || this.completions.length === 0) return;
    this.writerScheduled = true;
    setImmediate(() => {
      this.writerScheduled = false;
      this.startWriter();
    });
  }

  private startWriter(): void {
    if (this.crashed || this.writers.size >= this.maxWriters || this.completions.length === 0) return;
    const writer = this.writeLoop().finally(() => {
      this.writers.delete(writer);
      this.scheduleWriter();
    });
    this.writers.add(writer);
  }

  /** Writes queued completions until none are left. This path must not throw. */
  private async writeLoop(): Promise<void> {
    while (this.completions.length > 0 && !this.crashed) {
      const batch = takeBatch(this.completions);
      const health = new Map(this.health);
      this.health.clear();
      // More queued already? Let a second writer take them while this statement is in flight.
      this.scheduleWriter();
      await this.writeBatch(batch, health);
      this.unflushed -= batch.length;
      this.kick();
      this.notifyIdle();
    }
  }

  /** Resolves once every queued completion is written (or dropped by a crash). */
  private async drainWrites(): Promise<void> {
    while (this.writers.size > 0 || (this.completions.length > 0 && !this.crashed)) {
      if (this.writers.size === 0) this.startWriter();
      await Promise.all(this.writers);
    }
  }

  private async writeBatch(batch: Outcome[], health: Map<string, Health>): Promise<void> {
    const write = (items: Outcome[], h: Map<string, Health>) =>
      this.retryTransient(
        () =>
          completeBatch(
            this.app.db,
            items.map((o) => o.completion),
            h,
            this.cfg.disableAfterMs,
          ),
        { retries: 4, minTimeout: 50, maxTimeout: 2000 },
      );
    try {
      const res = await write(batch, health);
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
          const res = await write([o], h);
          this.afterWrite([o], res.updated, res.disabled);
        } catch (e) {
          this.log.error({ err: e, delivery: c.id }, "recording a delivery outcome failed");
        }
      }
    }
  }

  /**
   * Runs a statement, retrying transient database errors with backoff (p-retry). The first try runs
   * bare: this wraps every statement of the hot path, and the happy path needs no retry machinery.
   */
  private async retryTransient<T>(
    fn: () => Promise<T>,
    opts: { retries: number; minTimeout: number; maxTimeout?: number },
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientDbError(err) || this.crashed || opts.retries < 1) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, opts.minTimeout));
    return pRetry(fn, {
      ...opts,
      retries: opts.retries - 1,
      minTimeout: opts.minTimeout * 2,
      shouldRetry: ({ error }) => isTransientDbError(error) && !this.crashed,
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

  private scheduleDue(at: number): void {
    if (this.state !== "running" || at >= this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = null;
        this.dueAt = Number.POSITIVE_INFINITY;
        this.wake();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.dueTimer.unref();
  }

  // ---------------------------------------------------------------------------------------------------
  // Stop and crash
  // ---------------------------------------------------------------------------------------------------

  private notifyIdle(): void {
    if (this.inFlight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private inFlightSettled(timeoutMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private clearTimers(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.pollTimer = null;
    this.dueTimer = null;
  }

  /** In flight, waiting and not yet recorded claims (for tests and metrics). */
  stats() {
    return {
      inFlight: this.inFlight.size,
      waiting: this.waitingCount,
      unflushed: this.unflushed,
      attempts: this.attemptsMade,
    };
  }

  /**
   * Graceful stop: no new claims; buffered claims are released at once; in-flight attempts get
   * shutdownGraceMs to finish, then are aborted and released. Resolves once everything is recorded.
   */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      if (this.state === "idle" || this.state === "stopped") {
        this.state = "stopped";
        await this.agent.close().catch(() => {});
        return;
      }
      this.state = "stopping";
      this.clearTimers();
      this.kick();
      await this.unlisten?.().catch(() => {});
      await this.loopDone;
      // We MUST release buffered claims: otherwise they wait a whole lease before anyone may send them.
      for (const queue of this.waiting.values()) {
        for (const job of queue) {
          this.unflushed++;
          this.enqueueCompletion(this.releaseCompletion(job.row, job.lock, 0));
        }
      }
      this.waiting.clear();
      this.waitingCount = 0;
      if (!(await this.inFlightSettled(this.cfg.shutdownGraceMs))) {
        this.log.warn({ inFlight: this.inFlight.size }, "aborting in-flight attempts at shutdown");
        for (const job of this.inFlight) job.sending?.abort(new Error("dispatcher stopping"));
        await this.inFlightSettled(5000);
      }
      await this.drainWrites();
      this.state = "stopped";
      await this.agent.destroy().catch(() => {});
    })();
    return this.stopPromise;
  }

  /**
   * TEST HOOK: simulates a process crash. Claims are neither completed nor released (leases must expire),
   * in-flight requests are cut off, nothing more is written. Resolves once nothing is running.
   */
  async crash(): Promise<void> {
    this.crashed = true;
    this.state = "stopped";
    this.clearTimers();
    this.kick();
    this.completions.length = 0;
    this.waiting.clear();
    this.waitingCount = 0;
    for (const job of this.inFlight) job.sending?.abort(new Error("crash"));
    await this.unlisten?.().catch(() => {});
    await this.loopDone;
    await this.inFlightSettled(5000);
    await Promise.all(this.writers);
    await this.agent.destroy().catch(() => {});
    this.stopPromise ??= Promise.resolve();
  }
}

export function createDispatcher(app: App, opts?: DispatcherOptions): Dispatcher {
  return new Dispatcher(app, opts);
}

function emptyCompletion(row: ClaimedRow, lock: string): Omit<Completion, "status" | "delay_ms"> {
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
    req_body: null,
    resp_code: null,
    resp_body: null,
    duration_ms: null,
    error: null,
    endpoint_id: row.endpoint_id,
  };
}

function signalFor(row: ClaimedRow, attemptId: string | null, status: string): string {
  return encodeDeliveryUpdate({
    d: row.id,
    a: attemptId,
    t: row.tenant_path,
    e: row.endpoint_id,
    y: row.event_type,
    s: status,
  });
}

/** The body receivers get: {"id","type","timestamp","data"}; identical on every attempt of an event. */
export function envelope(event: EventRow): string {
  const created = event.created_at instanceof Date ? event.created_at : new Date(event.created_at);
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: created.toISOString(),
    data: event.payload,
  });
}

interface StoredHeader {
  name: string;
  value: string;
  encrypted: boolean;
}

/** Endpoint.headers as stored: [{ name, value, encrypted }] (value encrypted when `encrypted`). */
function decodeHeaderList(json: unknown): StoredHeader[] {
  const list = typeof json === "string" ? (JSON.parse(json) as unknown) : json;
  if (!Array.isArray(list)) return [];
  const out: StoredHeader[] = [];
  for (const h of list as Record<string, unknown>[]) {
    if (typeof h?.name !== "string" || typeof h.value !== "string") continue;
    // The schema comment calls the flag `sensitive`; the endpoints module writes `encrypted`. Accept both.
    out.push({ name: h.name, value: h.value, encrypted: h.encrypted === true || h.sensitive === true });
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function takeBatch(queue: Outcome[]): Outcome[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < MAX_COMPLETIONS_PER_WRITE) {
    const c = queue[n].completion;
    bytes += (c.req_body?.length ?? 0) + (c.resp_body?.length ?? 0) + 512;
    n++;
    if (bytes >= MAX_COMPLETION_BYTES_PER_WRITE) break;
  }
  return queue.splice(0, n);
}

/** Connection-level and serialization failures: worth retrying in-process. Anything else is a bug. */
export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  if (!code) {
    const msg = String((err as Error)?.message ?? "");
    return /connection|terminat|timeout|ECONN|EPIPE/i.test(msg);
  }
  return (
    code.startsWith("08") || // connection exception
    code === "40001" || // serialization failure
    code === "40P01" || // deadlock
    code === "57P01" || // admin shutdown
    code === "57P03" || // cannot connect now
    code === "53300" || // too many connections
    code === "ECONNRESET" ||
    code === "ECONNREFUSED" ||
    code === "EPIPE" ||
    code === "ETIMEDOUT"
  );
}
