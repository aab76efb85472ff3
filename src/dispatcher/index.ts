/**
 * The dispatcher: claims due deliveries, signs and sends them, records attempts, schedules retries.
 * This file is its lifecycle (start, stop, crash) and wires the parts, one concern per file:
 * - queue.ts: the SQL and the queue invariant. The deliveries table is the queue. A claim is ONE
 *   statement: due rows (next_attempt_at <= now(), no live lease) in due order, FOR UPDATE SKIP LOCKED,
 *   set to SENDING with lease_expires_at = now() + lease and locked_by = a per-claim token
 *   "<worker id>/<seq>" (a HOT update: no indexed column changes). An expired lease is simply due again: a crashed dispatcher's work is re-claimed by anyone, with no sweeper.
 *   Delivery is therefore at-least-once; receivers deduplicate on webhook-id (the event id).
 * - claims.ts: the claim loop, its prefetch buffer and wake-ups (NOTIFY, retry timer, poll); disabled
 *   endpoints' SCHEDULED deliveries are CANCELLED there without an attempt, and claims over an endpoint's
 *   rate limit (domain/rate-windows.ts, one window per endpoint for the whole deployment) are put back with a delay and no attempt counted.
 * - limits.ts: dispatchConcurrency overall and endpointConcurrency per endpoint.
 * - templates.ts: per-endpoint headers and signer; send.ts: one attempt; http.ts: the request itself.
 * - completions.ts: batched outcome writes (fenced by the claim token), signals after commit.
 * - retry.ts: the retry schedule, Retry-After, transient database errors.
 * Deleted endpoints: their existing deliveries are still attempted, retries included ("deliveries already
 * in flight are still attempted"); disable an endpoint first to stop them. TEST and REPLAY deliveries to a
 * disabled endpoint are sent anyway: someone asked for them explicitly.
 *
 * This module never imports GraphQL code.
 */
import { hostname } from "node:os";
import pRetry from "p-retry";
import type { Agent } from "undici";
import type { Config } from "../config.js";
import type { App } from "../domain/app.js";
import { WAKE_CHANNEL } from "../domain/signals.js";
import { createPinnedDispatcher, type LookupFn } from "../security/url-policy.js";
import { ClaimLoop } from "./claims.js";
import { CompletionWriter, releaseOutcome } from "./completions.js";
import { Slots } from "./limits.js";
import { type Job, Sender } from "./send.js";
import { Templates } from "./templates.js";

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

export class Dispatcher {
  readonly workerId: string;
  private readonly cfg: DispatcherConfig;
  private readonly agent: Agent;
  private readonly log: App["logger"];
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private crashed = false;
  private unlisten: (() => Promise<void>) | null = null;
  /** Settles once LISTEN is set up (or has failed): stop and crash wait for it before UNLISTEN. */
  private listening: Promise<void> = Promise.resolve();
  private loopDone: Promise<void> = Promise.resolve();
  private stopPromise: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  /** During a stop: when outcomes still waiting for an unreachable database are given up. */
  private abandonAt = Number.POSITIVE_INFINITY;

  private readonly slots: Slots;
  private readonly completions: CompletionWriter;
  private readonly claims: ClaimLoop;
  private readonly sender: Sender;

  constructor(
    private readonly app: App,
    opts: DispatcherOptions = {},
  ) {
    this.cfg = { ...app.config, ...opts.config };
    this.workerId = opts.workerId ?? `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
    this.log = app.logger.child({ component: "dispatcher", worker: this.workerId });
    this.agent = createPinnedDispatcher(app.urlPolicy, {
      connections: this.cfg.dispatchConcurrency,
      keepAliveTimeout: 10_000,
      connectTimeout: Math.min(this.cfg.attemptTimeoutMs, 10_000),
      lookup: opts.lookup ?? app.dnsLookup,
    });
    const crashed = () => this.crashed;
    this.slots = new Slots(this.cfg);
    this.completions = new CompletionWriter(app, this.cfg.disableAfterMs, this.log, {
      written: () => {
        this.claims.kick();
        this.notifyIdle();
      },
      due: (at) => this.claims.scheduleDue(at),
      crashed,
      abandon: () => this.state === "stopping" && Date.now() > this.abandonAt,
    });
    this.claims = new ClaimLoop(app, this.cfg, this.workerId, this.log, this.slots, this.completions, {
      running: () => this.state === "running",
      crashed,
      pump: () => this.pump(),
    });
    this.sender = new Sender(this.cfg, this.agent, new Templates(app.cipher), app.metrics, (id, h) =>
      this.completions.noteHealth(id, h),
    );
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
    // The first claim does not wait for LISTEN (its own connection: a round trip or two at start-up):
    // once listening, one more wake-up claims whatever was published in between.
    this.loopDone = this.claims.run();
    this.listening = pRetry(() => this.app.db.listen(WAKE_CHANNEL, () => this.wake()), {
      retries: 3,
      minTimeout: 100,
    }).then(
      (unlisten) => {
        this.unlisten = unlisten;
        if (this.state === "running") this.wake();
      },
      (err: unknown) => {
        // Not fatal: the poll still finds everything, only later.
        this.log.error({ err }, "could not listen for wake-ups; relying on the poll");
      },
    );
  }

  /** Something may be due now. */
  wake(): void {
    this.claims.wake();
  }

  /** Starts waiting jobs while there are free slots overall and per endpoint. */
  private pump(): void {
    if (this.state !== "running") return;
    const reopened = this.slots.pump((job) => {
      if (
        this.cfg.leaseMs > this.cfg.attemptTimeoutMs &&
        Date.now() + this.cfg.attemptTimeoutMs > job.leaseDeadline
      ) {
        // Its lease could end mid-attempt and another dispatcher could send it too: give it back.
        this.completions.enqueue(releaseOutcome(job.row, job.lock, 0));
        return;
      }
      this.startJob(job);
    });
    if (reopened) this.claims.wake();
  }

  private startJob(job: Job): void {
    this.slots.begin(job);
    this.app.metrics.inFlight.inc();
    void this.sender
      .attempt(job, () => this.crashed)
      .catch((err) => {
        // attempt() turns every expected failure into a completion; this is a bug. The lease will
        // expire and the delivery be sent again: at-least-once holds.
        this.log.error({ err, delivery: job.row.id }, "delivery attempt crashed");
        return null;
      })
      .then((outcome) => {
        this.slots.end(job);
        this.app.metrics.inFlight.dec();
        if (outcome && !this.crashed) this.completions.enqueue(outcome);
        else this.claims.kick();
        this.pump();
        this.notifyIdle();
      });
  }

  private notifyIdle(): void {
    if (this.slots.inFlight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private inFlightSettled(timeoutMs: number): Promise<boolean> {
    if (this.slots.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** In flight, waiting and not yet recorded claims (for tests and metrics). */
  stats() {
    return {
      inFlight: this.slots.inFlight.size,
      waiting: this.slots.waitingSize,
      unflushed: this.completions.unflushed,
      attempts: this.sender.attemptsMade,
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
      this.abandonAt = Date.now() + this.cfg.shutdownGraceMs + 5000;
      this.claims.stopTimers();
      this.claims.kick();
      await this.listening;
      await this.unlisten?.().catch(() => {});
      await this.loopDone;
      // We MUST release buffered claims: otherwise they wait a whole lease before anyone may send them.
      for (const job of this.slots.takeWaiting()) {
        this.completions.enqueue(releaseOutcome(job.row, job.lock, 0));
      }
      if (!(await this.inFlightSettled(this.cfg.shutdownGraceMs))) {
        this.log.warn({ inFlight: this.slots.inFlight.size }, "aborting in-flight attempts at shutdown");
        for (const job of this.slots.inFlight) job.sending?.abort(new Error("dispatcher stopping"));
        await this.inFlightSettled(5000);
      }
      await this.completions.drain();
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
    this.claims.stopTimers();
    this.claims.kick();
    this.completions.dropQueued();
    this.slots.takeWaiting();
    for (const job of this.slots.inFlight) job.sending?.abort(new Error("crash"));
    await this.listening;
    await this.unlisten?.().catch(() => {});
    await this.loopDone;
    await this.inFlightSettled(5000);
    await this.completions.settled();
    await this.agent.destroy().catch(() => {});
    this.stopPromise ??= Promise.resolve();
  }
}

export function createDispatcher(app: App, opts?: DispatcherOptions): Dispatcher {
  return new Dispatcher(app, opts);
}
