/**
 * Retry timing, pure and deterministic given `random` and `now`, so it is unit-tested on its own.
 * The schedule lives in config and the next attempt time in the database; nothing here keeps state.
 * Also the in-process retries of transient database errors around the dispatcher's statements.
 */
import pRetry from "p-retry";
import { isUnavailableError } from "../db/availability.js";

export interface RetryPolicy {
  /** Delays before each retry after the first (immediate) attempt. */
  retryScheduleMs: readonly number[];
  /** Spread applied to each delay: 0.2 = uniformly within ±20%. */
  retryJitter: number;
  /** Upper bound on a receiver's Retry-After that we honour. */
  retryAfterMaxMs: number;
}

export interface RetryInput {
  /** Number of the attempt that just failed (1 = the first, immediate attempt). */
  attemptNumber: number;
  /** Retry-After the receiver asked for (already parsed), when it answered 429 or 503. */
  retryAfterMs?: number | null;
  /** In [0, 1); Math.random by default. */
  random?: () => number;
}

/**
 * Milliseconds until the next attempt, or null when the schedule is exhausted (the delivery is FAILED).
 * Attempt n failed -> wait schedule[n-1] ± jitter. A Retry-After can make the wait longer, never shorter
 * than the schedule, and never longer than retryAfterMaxMs (a receiver must not park deliveries for days).
 * It never extends the schedule either: after the last retry the delivery fails whatever the receiver says.
 */
export function nextRetryDelay(policy: RetryPolicy, input: RetryInput): number | null {
  const n = input.attemptNumber;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`attemptNumber must be >= 1, got ${n}`);
  if (n > policy.retryScheduleMs.length) return null;
  const base = policy.retryScheduleMs[n - 1];
  const r = (input.random ?? Math.random)();
  const jitter = Math.min(Math.max(policy.retryJitter, 0), 1);
  let delay = Math.round(base * (1 + jitter * (2 * r - 1)));
  if (input.retryAfterMs != null && input.retryAfterMs > 0) {
    delay = Math.max(delay, Math.min(input.retryAfterMs, policy.retryAfterMaxMs));
  }
  return Math.max(0, delay);
}

// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 ...", asctime "Sun Nov  6 ...".
const HTTP_DATE_LIKE = /^[A-Za-z]{3,9},? /;

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds from `now` (0 for a
 * date in the past), or null for anything else, including negative or fractional seconds.
 */
export function parseRetryAfter(
  value: string | string[] | undefined | null,
  now = Date.now(),
): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw == null) return null;
  const s = raw.trim();
  if (s === "") return null;
  if (/^\d+$/.test(s)) {
    const seconds = Number(s);
    // Absurd values (beyond any sane bound) still parse; the caller clamps with retryAfterMaxMs.
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : Number.MAX_SAFE_INTEGER;
  }
  // Date.parse accepts far too much ("1", "2024"), so insist on the shape of an HTTP-date first.
  if (!HTTP_DATE_LIKE.test(s)) return null;
  const at = Date.parse(s);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/**
 * Runs a statement, retrying transient database errors with backoff (p-retry). The first try runs
 * bare: this wraps every statement of the hot path, and the happy path needs no retry machinery.
 * Nothing is retried once `crashed()` (a crashed dispatcher writes nothing more).
 */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  opts: { retries: number; minTimeout: number; maxTimeout?: number },
  crashed: () => boolean,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isTransientDbError(err) || crashed() || opts.retries < 1) throw err;
  }
  await new Promise((resolve) => setTimeout(resolve, opts.minTimeout));
  return pRetry(fn, {
    ...opts,
    retries: opts.retries - 1,
    minTimeout: opts.minTimeout * 2,
    shouldRetry: ({ error }) => isTransientDbError(error) && !crashed(),
  });
}

/** Connection-level and serialization failures: worth retrying in-process. Anything else is a bug. */
function isTransientDbError(err: unknown): boolean {
  if (isUnavailableError(err)) return true;
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
