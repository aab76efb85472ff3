import { readFileSync } from "node:fs";
import type { Agent } from "undici";
import { request } from "undici";

/** `Hookgate/<version>`, read once from package.json. */
export const USER_AGENT = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return `Hookgate/${pkg.version ?? "0.0.0"}`;
  } catch {
    return "Hookgate/0.0.0";
  }
})();

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  maxResponseBytes: number;
  dispatcher: Agent;
  /** Aborts the attempt from outside (shutdown, crash); the result then has aborted = true. */
  signal: AbortSignal;
}

export interface SendResult {
  /** HTTP status, or null when no response arrived (connect error, timeout, abort). */
  status: number | null;
  /** The first Retry-After header, when present. */
  retryAfter: string | null;
  /** Up to maxResponseBytes of the response body, decoded as UTF-8 (null when there was none). */
  body: string | null;
  durationMs: number;
  /** Why the attempt failed below HTTP (or what else went wrong), else null. */
  error: string | null;
  /** True when `signal` aborted it: this was not a real attempt and must not be recorded as one. */
  aborted: boolean;
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`Timed out after ${ms} ms`);
    this.name = "AttemptTimeout";
  }
}

/**
 * One POST. Never throws: every failure becomes a SendResult. Redirects are not followed (undici's
 * request() has no redirect handling unless an interceptor adds it, and ours adds none), the whole attempt
 * (connect, headers, body) is bounded by timeoutMs, and at most maxResponseBytes of the body is read before
 * the stream is destroyed: a receiver answering with 10 MB costs us 20 KB, not 10 MB.
 */
export async function sendWebhook(opts: SendOptions): Promise<SendResult> {
  const started = performance.now();
  const controller = new AbortController();
  // The error is made only when the timer fires: an Error per attempt (stack capture) is measurable.
  const timer = setTimeout(() => controller.abort(new AttemptTimeout(opts.timeoutMs)), opts.timeoutMs);
  const onOuterAbort = () => controller.abort(opts.signal.reason);
  if (opts.signal.aborted) onOuterAbort();
  else opts.signal.addEventListener("abort", onOuterAbort, { once: true });
  const elapsed = () => Math.max(0, Math.round(performance.now() - started));
  let status: number | null = null;
  let retryAfter: string | null = null;
  try {
    const res = await request(opts.url, {
      method: "POST",
      headers: opts.headers,
      body: opts.body,
      dispatcher: opts.dispatcher,
      signal: controller.signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    status = res.statusCode;
    const ra = res.headers["retry-after"];
    retryAfter = (Array.isArray(ra) ? ra[0] : ra) ?? null;
    let error: string | null = null;
    if (status >= 300 && status < 400) {
      const loc = res.headers.location;
      error = `Redirect (${status}) not followed${loc ? ` (location: ${Array.isArray(loc) ? loc[0] : loc})` : ""}`;
    }
    let body: string | null = null;
    try {
      const length = Number(res.headers["content-length"]);
      // Fast path for the common small, announced body; anything else is read through the cap.
      body =
        Number.isInteger(length) && length <= opts.maxResponseBytes && length <= 65_536
          ? sanitizeText(await res.body.text())
          : await readCapped(res.body, opts.maxResponseBytes);
    } catch (err) {
      // The status line decides the outcome; a body cut short by the timeout is only noted.
      if (opts.signal.aborted) return abortedResult(status, elapsed());
      error ??= `Reading the response body failed: ${describeError(err, controller.signal)}`;
    }
    return { status, retryAfter, body, durationMs: elapsed(), error, aborted: false };
  } catch (err) {
    if (opts.signal.aborted) return abortedResult(status, elapsed());
    return {
      status,
      retryAfter,
      body: null,
      durationMs: elapsed(),
      error: describeError(err, controller.signal),
      aborted: false,
    };
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener("abort", onOuterAbort);
  }
}

function abortedResult(status: number | null, durationMs: number): SendResult {
  return { status, retryAfter: null, body: null, durationMs, error: "aborted", aborted: true };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (max <= 0) {
    body.destroy();
    return "";
  }
  // Breaking out of for-await destroys the stream (and so the connection); we do that only once the
  // receiver has sent MORE than we keep, so a body of exactly `max` bytes still ends cleanly.
  for await (const chunk of body) {
    if (total + chunk.length > max) {
      chunks.push(chunk.subarray(0, max - total));
      total = max;
      break;
    }
    chunks.push(chunk);
    total += chunk.length;
  }
  return sanitizeText(Buffer.concat(chunks, total).toString("utf8"));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Postgres text (and jsonb) cannot hold NUL; a receiver's binary garbage must not break the write. */
export function sanitizeText(s: string): string {
  const noNul = s.includes("\0") ? s.replaceAll("\0", "\uFFFD") : s;
  return noNul.replace(LONE_SURROGATE, "\uFFFD");
}

function describeError(err: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof AttemptTimeout) return signal.reason.message;
  if (err instanceof AttemptTimeout) return err.message;
  const e = err as { code?: string; message?: string; name?: string; cause?: unknown };
  if (e?.name === "HeadersTimeoutError" || e?.name === "BodyTimeoutError") return `Timed out: ${e.message}`;
  let msg = sanitizeText(String(e?.message ?? err));
  if (e?.code && !msg.includes(e.code)) msg = `${e.code}: ${msg}`;
  const cause = e?.cause as { message?: string } | undefined;
  if (cause?.message && !msg.includes(cause.message)) msg += ` (${sanitizeText(cause.message)})`;
  return msg.slice(0, 1000);
}
