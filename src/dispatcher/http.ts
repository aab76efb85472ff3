import type { Dispatcher } from "undici";

export interface SendOptions {
  url: string;
  /** An object, or flat (name, value, name, value, ...). */
  headers: Record<string, string> | string[];
  /** The exact bytes sent (and signed). */
  body: Buffer;
  timeoutMs: number;
  maxResponseBytes: number;
  dispatcher: Dispatcher;
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
  /** True when abort() cut it short: this was not a real attempt and must not be recorded as one. */
  aborted: boolean;
}

/** One POST in flight: its outcome, and a way to cut it short (shutdown, crash). */
export interface Sending {
  readonly result: Promise<SendResult>;
  /** Settles `result` at once as aborted; the request is torn down, or never written if not started yet. */
  abort(reason?: Error): void;
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`Timed out after ${ms} ms`);
    this.name = "AttemptTimeout";
  }
}

/** The response body went past maxResponseBytes: we stop reading (and drop the connection). */
class BodyCapped extends Error {}

const ABORTED = new Error("aborted");

/**
 * One POST. Never rejects: every failure becomes a SendResult. Redirects are not followed (a bare
 * dispatch() has no redirect handling; only an interceptor would add it, and ours adds none), the whole
 * attempt (connect, headers, body) is bounded by timeoutMs, and at most maxResponseBytes of the body is
 * kept before the connection is dropped: a receiver answering with 10 MB costs us 20 KB, not 10 MB.
 *
 * This is the dispatcher's hot path, so it talks to undici's dispatch() with a handler of its own rather
 * than through request(): no AbortController/AbortSignal, no response stream, no promise per body chunk.
 */
export function sendWebhook(opts: SendOptions): Sending {
  const attempt = new WebhookAttempt(opts.timeoutMs, opts.maxResponseBytes);
  const target = splitUrl(opts.url);
  try {
    opts.dispatcher.dispatch(
      {
        origin: target.origin,
        path: target.path,
        method: "POST",
        headers: opts.headers,
        body: opts.body,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      },
      attempt,
    );
  } catch (err) {
    attempt.onResponseError(null, err as Error);
  }
  return attempt;
}

class WebhookAttempt implements Dispatcher.DispatchHandler, Sending {
  readonly result: Promise<SendResult>;
  private resolve!: (r: SendResult) => void;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  /** Why we cut it short (timeout or abort()), once we did. */
  private cutReason: Error | null = null;
  private status: number | null = null;
  private retryAfter: string | null = null;
  private redirectError: string | null = null;
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
  ) {
    this.result = new Promise((resolve) => {
      this.resolve = resolve;
    });
    // The error is made only when the timer fires: an Error per attempt (stack capture) is measurable.
    this.timer = setTimeout(() => this.cut(new AttemptTimeout(this.timeoutMs)), this.timeoutMs);
  }

  abort(reason: Error = ABORTED): void {
    this.cut(reason);
  }

  /** Timeout or abort(): tear the request down; before it has started, settle now and stop it at start. */
  private cut(reason: Error): void {
    if (this.settled || this.cutReason) return;
    this.cutReason = reason;
    if (this.controller) {
      this.controller.abort(reason); // -> onResponseError, which settles
    } else {
      // Still waiting for a connection: onRequestStart will abort it before anything is written.
      this.settleCut(null);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cutReason) controller.abort(this.cutReason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.status = statusCode;
    const ra = headers["retry-after"];
    this.retryAfter = (Array.isArray(ra) ? ra[0] : ra) ?? null;
    if (statusCode >= 300 && statusCode < 400) {
      const loc = headers.location;
      this.redirectError = `Redirect (${statusCode}) not followed${loc ? ` (location: ${Array.isArray(loc) ? loc[0] : loc})` : ""}`;
    }
    if (this.maxBytes <= 0) controller.abort(new BodyCapped());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // Breaking off destroys the connection; we do that only once the receiver has sent MORE than we keep,
    // so a body of exactly maxBytes still ends cleanly.
    if (this.bytes + chunk.length > this.maxBytes) {
      this.chunks.push(chunk.subarray(0, this.maxBytes - this.bytes));
      this.bytes = this.maxBytes;
      controller.abort(new BodyCapped());
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  onResponseEnd(): void {
    this.settle({ body: this.text(), error: this.redirectError });
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.settled) return;
    if (err instanceof BodyCapped) {
      this.settle({ body: this.text(), error: this.redirectError });
    } else if (this.cutReason && !(this.cutReason instanceof AttemptTimeout)) {
      this.settleCut(this.status);
    } else if (this.status !== null) {
      // The status line decides the outcome; a body cut short (by the timeout, say) is only noted.
      this.settle({
        body: null,
        error: this.redirectError ?? `Reading the response body failed: ${this.describe(err)}`,
      });
    } else {
      this.settle({ body: null, error: this.describe(err) });
    }
  }

  private describe(err: Error): string {
    return this.cutReason instanceof AttemptTimeout ? this.cutReason.message : describeError(err);
  }

  private text(): string {
    if (this.bytes === 0) return "";
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes);
    // Decoding UTF-8 replaces malformed bytes (encoded surrogates included) with U+FFFD, so only NUL is left
    // for PostgreSQL to refuse: no surrogate scan per response.
    const text = buf.toString("utf8");
    return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
  }

  private elapsed(): number {
    return Math.max(0, Math.round(performance.now() - this.started));
  }

  /** Cut short by a timeout (a real, failed attempt) or by abort() (not an attempt at all). */
  private settleCut(status: number | null): void {
    const reason = this.cutReason!;
    if (reason instanceof AttemptTimeout) {
      this.settle({
        body: null,
        error: status === null ? reason.message : `Reading the response body failed: ${reason.message}`,
      });
      return;
    }
    this.finish({
      status,
      retryAfter: null,
      body: null,
      durationMs: this.elapsed(),
      error: "aborted",
      aborted: true,
    });
  }

  private settle(r: { body: string | null; error: string | null }): void {
    this.finish({
      status: this.status,
      retryAfter: this.retryAfter,
      body: r.body,
      durationMs: this.elapsed(),
      error: r.error,
      aborted: false,
    });
  }

  private finish(result: SendResult): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.chunks = [];
    this.resolve(result);
  }
}

const urlCache = new Map<string, { origin: string; path: string }>();

/** origin + path of a url (cached: every delivery to an endpoint has the same one). */
function splitUrl(url: string): { origin: string; path: string } {
  let t = urlCache.get(url);
  if (t === undefined) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (urlCache.size >= 10_000) urlCache.clear();
    urlCache.set(url, t);
  }
  return t;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Postgres text (and jsonb) cannot hold NUL; a receiver's binary garbage must not break the write. */
export function sanitizeText(s: string): string {
  const noNul = s.includes("\0") ? s.replaceAll("\0", "\uFFFD") : s;
  return noNul.replace(LONE_SURROGATE, "\uFFFD");
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string; cause?: unknown };
  if (e?.name === "HeadersTimeoutError" || e?.name === "BodyTimeoutError") return `Timed out: ${e.message}`;
  let msg = sanitizeText(String(e?.message ?? err));
  if (e?.code && !msg.includes(e.code)) msg = `${e.code}: ${msg}`;
  const cause = e?.cause as { message?: string } | undefined;
  if (cause?.message && !msg.includes(cause.message)) msg += ` (${sanitizeText(cause.message)})`;
  return msg.slice(0, 1000);
}
