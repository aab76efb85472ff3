/**
 * Local concurrency: claimed deliveries wait per endpoint and start while there are free slots overall
 * (dispatchConcurrency) and per endpoint (endpointConcurrency). Endpoints that already have a full round
 * buffered are excluded from further claims, so one slow endpoint cannot fill the buffer. The per-endpoint
 * rate limit is domain/rate-windows.ts (shared by every dispatcher process).
 */
import type { Config } from "../config.js";
import type { Job } from "./send.js";

export class Slots {
  private readonly waiting = new Map<string, Job[]>();
  private waitingCount = 0;
  readonly inFlight = new Set<Job>();
  private readonly endpointInFlight = new Map<string, number>();
  private excludedAtLastClaim = new Set<string>();

  constructor(private readonly cfg: Pick<Config, "dispatchConcurrency" | "endpointConcurrency">) {}

  /** Claims held (in flight + waiting). */
  get held(): number {
    return this.waitingCount + this.inFlight.size;
  }

  get waitingSize(): number {
    return this.waitingCount;
  }

  /** Endpoints with a full round waiting: the next claim leaves them out. */
  exclusions(): string[] {
    const exclude: string[] = [];
    for (const [endpointId, queue] of this.waiting) {
      if (queue.length >= this.cfg.endpointConcurrency) exclude.push(endpointId);
    }
    return exclude;
  }

  /** What the last claim excluded (so a drained endpoint can trigger another claim). */
  claimed(exclude: string[]): void {
    this.excludedAtLastClaim = new Set(exclude);
  }

  add(job: Job): void {
    let queue = this.waiting.get(job.row.endpoint_id);
    if (!queue) {
      queue = [];
      this.waiting.set(job.row.endpoint_id, queue);
    }
    queue.push(job);
    this.waitingCount++;
  }

  /**
   * Takes waiting jobs while there are free slots overall and per endpoint, handing each to `start`
   * (which must call `begin`). Returns true when an endpoint the last claim excluded has room again.
   */
  pump(start: (job: Job) => void): boolean {
    let reopened = false;
    for (const [endpointId, queue] of this.waiting) {
      if (this.inFlight.size >= this.cfg.dispatchConcurrency) break;
      while (
        queue.length > 0 &&
        this.inFlight.size < this.cfg.dispatchConcurrency &&
        (this.endpointInFlight.get(endpointId) ?? 0) < this.cfg.endpointConcurrency
      ) {
        const job = queue.shift()!;
        this.waitingCount--;
        start(job);
      }
      if (queue.length === 0) this.waiting.delete(endpointId);
      if (queue.length < this.cfg.endpointConcurrency && this.excludedAtLastClaim.delete(endpointId)) {
        reopened = true;
      }
    }
    return reopened;
  }

  begin(job: Job): void {
    const endpointId = job.row.endpoint_id;
    this.inFlight.add(job);
    this.endpointInFlight.set(endpointId, (this.endpointInFlight.get(endpointId) ?? 0) + 1);
  }

  end(job: Job): void {
    const endpointId = job.row.endpoint_id;
    this.inFlight.delete(job);
    const n = (this.endpointInFlight.get(endpointId) ?? 1) - 1;
    if (n <= 0) this.endpointInFlight.delete(endpointId);
    else this.endpointInFlight.set(endpointId, n);
  }

  /** Removes and returns every waiting job (stop releases them, a crash drops them). */
  takeWaiting(): Job[] {
    const jobs: Job[] = [];
    for (const queue of this.waiting.values()) jobs.push(...queue);
    this.waiting.clear();
    this.waitingCount = 0;
    return jobs;
  }
}
