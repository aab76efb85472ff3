import type { Database } from "../db/database.js";

/**
 * Rate limits that hold for the whole deployment: at most `limit` per one-second window per key (an
 * endpoint's rateLimitPerSecond, an API key's HOOKGATE_API_RATE_LIMIT), however many processes take
 * from it. On PostgreSQL the window is a row of rate_limit_windows, taken from in ONE upsert (no new
 * infrastructure, one round trip, correct under concurrency: ON CONFLICT locks the row and reads its
 * latest version), timed by the database's clock, so every process agrees on it. On PGlite there is one
 * process: the same windows live in memory.
 *
 * Fixed windows: a window is the second from its first take; a key may get `limit` at the end of one
 * window and `limit` again at the start of the next, never more than `limit` within one window.
 */
export interface RateTake {
  /** How many of `want` were granted (0..want). */
  granted: number;
  /** Milliseconds until the current window ends (when more may be granted). */
  resetMs: number;
}

export interface RateWindows {
  take(key: string, limit: number, want?: number): Promise<RateTake>;
  /**
   * One unit, for hot keys (an API key on every request): on PostgreSQL a process takes a twentieth of
   * the limit at a time and hands it out locally until its window ends, so the database sees one take per
   * chunk, not per request. Nothing is granted beyond the shared window (a chunk may go partly unused).
   */
  takeOne(key: string, limit: number): Promise<RateTake>;
}

// In ON CONFLICT DO UPDATE, `r.` is the existing row (its latest committed version, locked) and every SET
// expression sees its old values, so `granted` is computed from the window as it was before this take.
// A window is the second from its first take (window_start, epoch ms of the database's clock).
const TAKE_SQL = `
WITH w AS (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
INSERT INTO rate_limit_windows AS r (key, window_start, used, granted)
SELECT $1, w.ms, LEAST($2::int, $3::int), LEAST($2::int, $3::int) FROM w
ON CONFLICT (key) DO UPDATE SET
  granted = LEAST($2::int, GREATEST($3::int - CASE WHEN r.window_start + 1000 > excluded.window_start THEN r.used ELSE 0 END, 0)),
  used = CASE WHEN r.window_start + 1000 > excluded.window_start THEN r.used ELSE 0 END
         + LEAST($2::int, GREATEST($3::int - CASE WHEN r.window_start + 1000 > excluded.window_start THEN r.used ELSE 0 END, 0)),
  window_start = CASE WHEN r.window_start + 1000 > excluded.window_start THEN r.window_start ELSE excluded.window_start END
RETURNING r.granted, (r.window_start + 1000 - (SELECT ms FROM w))::int AS reset_ms`;

// Windows that ended a minute ago or more: a later take of their key starts a new window anyway, so the
// row only takes room (keys of deleted endpoints and revoked API keys would stay for good).
const PRUNE_SQL = `
DELETE FROM rate_limit_windows
WHERE window_start < floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 60000`;

/** How often a process removes ended windows (on its first take, then at most this often). */
const RATE_WINDOWS_PRUNE_INTERVAL_MS = 600_000;

export class PostgresRateWindows implements RateWindows {
  private readonly held = new Map<string, { left: number; until: number }>();
  private nextPrune = 0;
  /** The last prune started (tests wait for it). */
  pruned: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly pruneIntervalMs = RATE_WINDOWS_PRUNE_INTERVAL_MS,
  ) {}

  async takeOne(key: string, limit: number): Promise<RateTake> {
    const now = Date.now();
    const h = this.held.get(key);
    if (h && h.left > 0 && now < h.until) {
      h.left--;
      return { granted: 1, resetMs: h.until - now };
    }
    const t = await this.take(key, limit, Math.max(1, Math.floor(limit / 20)));
    if (this.held.size >= 10_000) this.held.clear();
    this.held.set(key, { left: Math.max(0, t.granted - 1), until: Date.now() + t.resetMs });
    return { granted: Math.min(1, t.granted), resetMs: t.resetMs };
  }

  async take(key: string, limit: number, want = 1): Promise<RateTake> {
    if (Date.now() >= this.nextPrune) {
      this.nextPrune = Date.now() + this.pruneIntervalMs;
      // Off the take's path; a failed prune is simply tried again next interval.
      this.pruned = this.db.query(PRUNE_SQL).then(
        () => {},
        () => {},
      );
    }
    const [row] = await this.db.query<{ granted: number; reset_ms: number }>(
      TAKE_SQL,
      [key, want, limit],
      "hookgate_rate_take",
    );
    return { granted: row!.granted, resetMs: Math.max(1, row!.reset_ms) };
  }
}

class MemoryRateWindows implements RateWindows {
  private readonly windows = new Map<string, { start: number; used: number }>();

  takeOne(key: string, limit: number): Promise<RateTake> {
    return this.take(key, limit, 1);
  }

  async take(key: string, limit: number, want = 1, now = Date.now()): Promise<RateTake> {
    let w = this.windows.get(key);
    if (!w || w.start + 1000 <= now) {
      if (this.windows.size >= 10_000) this.prune(now);
      w = { start: now, used: 0 };
      this.windows.set(key, w);
    }
    const granted = Math.min(want, Math.max(limit - w.used, 0));
    w.used += granted;
    return { granted, resetMs: Math.max(1, w.start + 1000 - now) };
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.start + 1000 <= now) this.windows.delete(k);
  }
}

const shared = new WeakMap<Database, RateWindows>();

/** The deployment-wide windows of this database (one per process and database). */
export function rateWindows(db: Database): RateWindows {
  let w = shared.get(db);
  if (!w) {
    w = db.kind === "postgres" ? new PostgresRateWindows(db) : new MemoryRateWindows();
    shared.set(db, w);
  }
  return w;
}
