/**
 * Per-endpoint rate limit (Endpoint.rateLimitPerSecond), enforced per dispatcher process: with several
 * dispatchers the endpoint may see up to N times the limit. A GCRA (virtual scheduling) limiter: it allows
 * a burst of one second's worth of requests, then one every 1000/rate ms.
 */
export class RateLimiter {
  /** endpoint id -> theoretical arrival time (ms) of the next conforming request */
  private readonly tat = new Map<string, number>();

  /**
   * 0 when a request to the endpoint may go now (and it is counted), else how long to wait before it
   * would conform. A refused request is not counted, so callers that put it back must spread their
   * retries themselves (see `delayFor`).
   */
  take(endpointId: string, ratePerSecond: number, now = Date.now()): number {
    const interval = 1000 / ratePerSecond;
    const tolerance = 1000 - interval;
    const tat = Math.max(this.tat.get(endpointId) ?? now, now);
    if (tat - now > tolerance) return Math.ceil(tat - tolerance - now);
    this.tat.set(endpointId, tat + interval);
    return 0;
  }

  /** Wait for the k-th (0-based) refused request of a batch, so put-back work does not all return at once. */
  delayFor(endpointId: string, ratePerSecond: number, k: number, now = Date.now()): number {
    const interval = 1000 / ratePerSecond;
    const tat = Math.max(this.tat.get(endpointId) ?? now, now);
    return Math.max(1, Math.ceil(tat - (1000 - interval) - now + k * interval));
  }

  /** Forget endpoints that have been idle for a while (keeps the map small). */
  prune(now = Date.now()): void {
    for (const [id, tat] of this.tat) if (tat < now - 1000) this.tat.delete(id);
  }
}
