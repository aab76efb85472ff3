/**
 * The claim loop: claims due deliveries in batches (queue.ts claimDue: one statement, a lease per claim
 * token "<worker id>/<seq>"), loads their events, and hands them to the local slots. It claims only while
 * it has room: at most dispatchConcurrency + dispatchBatchSize claims wait or run at once (a prefetch
 * buffer, so slots never wait for a claim round trip), and none while too many outcomes wait to be written
 * (the database is slow).
 *
 * Wake-ups: NOTIFY on WAKE_CHANNEL (publish, replay, recover, test), a timer for the earliest retry this
 * process scheduled, and a slow poll (pollIntervalMs) for everything else (other processes' retries).
 */
import type { Config } from "../config.js";
import type { App } from "../domain/app.js";
import { type RateWindows, rateWindows } from "../domain/rate-windows.js";
import { DELIVERY_UPDATES_CHANNEL } from "../domain/signals.js";
import { type CompletionWriter, emptyCompletion, releaseOutcome, signalFor } from "./completions.js";
import type { Slots } from "./limits.js";
import { type ClaimedRow, claimDue, claimLimit, type EventRow, loadEvents } from "./queue.js";
import { retryTransient } from "./retry.js";
import type { Job } from "./send.js";
import { type Body, bodyOf } from "./templates.js";

type ClaimConfig = Pick<
  Config,
  "leaseMs" | "dispatchConcurrency" | "endpointConcurrency" | "dispatchBatchSize" | "pollIntervalMs"
>;

export interface ClaimHooks {
  running(): boolean;
  crashed(): boolean;
  /** New jobs wait in the slots: start what fits. */
  pump(): void;
}

export class ClaimLoop {
  private readonly windows: RateWindows;
  private claimSeq = 0;
  private kickResolve: (() => void) | null = null;
  private kicked = false;
  /** Whether a claim might find due work (set by wake-ups, a full claim, or an excluded endpoint draining). */
  private moreDue = true;
  private pollTimer: NodeJS.Timeout | null = null;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly app: App,
    private readonly cfg: ClaimConfig,
    private readonly workerId: string,
    private readonly log: App["logger"],
    private readonly slots: Slots,
    private readonly completions: CompletionWriter,
    private readonly hooks: ClaimHooks,
  ) {
    this.windows = rateWindows(app.db);
  }

  /** Claims held before sending (in flight + buffered): a prefetch buffer of one batch. */
  private get maxHeld(): number {
    return this.cfg.dispatchConcurrency + this.cfg.dispatchBatchSize;
  }

  /** Backpressure: no new claims while this many outcomes wait to be written (the database is slow). */
  private get maxUnflushed(): number {
    return this.cfg.dispatchConcurrency + 4 * this.cfg.dispatchBatchSize;
  }

  /** Starts the poll and the loop; the promise settles once the loop has ended (see stopTimers + kick). */
  run(): Promise<void> {
    // Not unref'd: a dispatcher-only process has nothing else keeping it alive. stopTimers() clears it.
    this.pollTimer = setInterval(() => this.wake(), this.cfg.pollIntervalMs);
    return this.loop();
  }

  /** Something may be due now. */
  wake(): void {
    this.moreDue = true;
    this.kick();
  }

  /** Room may have been made: look again whether to claim (no new work implied). */
  kick(): void {
    this.kicked = true;
    const r = this.kickResolve;
    this.kickResolve = null;
    r?.();
  }

  /** Wakes the loop at `at` (ms), unless an earlier wake-up is already set. */
  scheduleDue(at: number): void {
    if (!this.hooks.running() || at >= this.dueAt) return;
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

  stopTimers(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.pollTimer = null;
    this.dueTimer = null;
  }

  private waitForKick(): Promise<void> {
    if (this.kicked) return Promise.resolve();
    return new Promise((resolve) => {
      this.kickResolve = resolve;
    });
  }

  private async loop(): Promise<void> {
    while (this.hooks.running()) {
      this.kicked = false;
      const budget =
        this.completions.unflushed >= this.maxUnflushed
          ? 0
          : Math.min(this.cfg.dispatchBatchSize, this.maxHeld - this.slots.held);
      // No claims while the database is known to be down (they would be refused at once); the poll
      // wakes the loop to look again.
      if (this.moreDue && budget > 0 && this.app.db.health().reachable) {
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

  /**
   * Takes, per rate-limited endpoint of the claim, as many sends as its rows want from the endpoint's
   * deployment-wide window (domain/rate-windows.ts: every dispatcher process shares it). A failed take
   * grants nothing: the rows go back to the queue for a second.
   */
  private async rateGrants(
    rows: ClaimedRow[],
    events: Map<string, EventRow>,
  ): Promise<Map<string, { left: number; resetMs: number; refused: number }>> {
    const wanted = new Map<string, { rate: number; want: number }>();
    for (const row of rows) {
      const rate = row.rate_limit_per_second;
      if (rate == null || rate <= 0 || !events.has(row.event_id)) continue;
      if (row.endpoint_status === "DISABLED" && row.trigger === "SCHEDULED") continue;
      const w = wanted.get(row.endpoint_id) ?? { rate, want: 0 };
      w.want++;
      wanted.set(row.endpoint_id, w);
    }
    const grants = new Map<string, { left: number; resetMs: number; refused: number }>();
    for (const [endpointId, { rate, want }] of wanted) {
      try {
        const t = await this.windows.take(`endpoint:${endpointId}`, rate, want);
        grants.set(endpointId, { left: t.granted, resetMs: t.resetMs, refused: 0 });
      } catch (err) {
        this.log.warn(
          { err, endpoint: endpointId },
          "rate limit window unavailable; putting the claims back",
        );
        grants.set(endpointId, { left: 0, resetMs: 1000, refused: 0 });
      }
    }
    return grants;
  }

  private async claim(limit: number): Promise<number> {
    const lock = `${this.workerId}/${++this.claimSeq}`;
    const exclude = this.slots.exclusions();
    const leaseDeadline = Date.now() + this.cfg.leaseMs;
    const rows = await retryTransient(
      () => claimDue(this.app.db, lock, limit, this.cfg.leaseMs, exclude),
      { retries: 3, minTimeout: 50, maxTimeout: 1000 },
      this.hooks.crashed,
    );
    this.slots.claimed(exclude);
    if (rows.length === 0) return 0;
    if (this.hooks.crashed()) return rows.length; // a crash drops what it holds, claimed or not
    // The claim has committed: announce it (the statement itself does not NOTIFY; see queue.ts).
    for (const row of rows) this.app.db.signal(DELIVERY_UPDATES_CHANNEL, signalFor(row, null, "SENDING"));

    let events: Map<string, EventRow>;
    try {
      const ids = [...new Set(rows.map((r) => r.event_id))];
      const loaded = await retryTransient(
        () => loadEvents(this.app.db, ids),
        { retries: 3, minTimeout: 50 },
        this.hooks.crashed,
      );
      events = new Map(loaded.map((e) => [e.id, e]));
    } catch (err) {
      // We MUST release: otherwise these deliveries wait a whole lease for nothing.
      this.log.error({ err }, "loading events failed; releasing the claimed deliveries");
      for (const row of rows) this.completions.enqueue(releaseOutcome(row, lock, 0));
      return rows.length;
    }
    if (this.hooks.crashed()) return rows.length;

    const grants = await this.rateGrants(rows, events);
    const bodies = new Map<string, Body>();
    for (const row of rows) {
      const event = events.get(row.event_id);
      if (!event) {
        // Cannot happen while the foreign key holds; give it back rather than guess.
        this.completions.enqueue(releaseOutcome(row, lock, 1000));
        continue;
      }
      if (row.endpoint_status === "DISABLED" && row.trigger === "SCHEDULED") {
        this.completions.enqueue({
          completion: { ...emptyCompletion(row, lock), status: "CANCELLED", delay_ms: null },
          signal: signalFor(row, null, "CANCELLED"),
        });
        continue;
      }
      const grant = grants.get(row.endpoint_id);
      if (grant) {
        if (grant.left > 0) grant.left--;
        else {
          // Over the endpoint's rate: back to the queue, spread over the coming windows.
          const rate = row.rate_limit_per_second!;
          const delay = grant.resetMs + Math.floor(grant.refused++ / rate) * 1000;
          this.completions.enqueue(releaseOutcome(row, lock, delay));
          continue;
        }
      }
      let body = bodies.get(event.id);
      if (body === undefined) {
        body = bodyOf(event);
        bodies.set(event.id, body);
      }
      const job: Job = { row, lock, leaseDeadline, event, body, sending: null };
      this.slots.add(job);
    }
    this.hooks.pump();
    return rows.length;
  }
}
