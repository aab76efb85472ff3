import pRetry from "p-retry";

/**
 * Database outages: which errors mean "the database is away" (as opposed to "this statement is
 * wrong"), the typed error callers see instead of the driver's, and the monitor that decides
 * when to refuse work at once rather than wait for a connection that will not come.
 */

/** The message callers see: never a driver message or the database's address. */
export const UNAVAILABLE_MESSAGE =
  "The database is unreachable: the request was not carried out, retry later";

/**
 * The database cannot be reached (down, restarting, or this process's connections were cut).
 * Safe to retry: nothing was changed by the refused call.
 */
export class DatabaseUnavailableError extends Error {
  readonly code = "UNAVAILABLE";
  constructor() {
    super(UNAVAILABLE_MESSAGE);
    this.name = "DatabaseUnavailableError";
  }
}

/** Socket-level failures of the driver (node errno codes). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server going away: class 08 (connection exception), 57P01 admin shutdown,
 * 57P02 crash shutdown, 57P03 cannot connect now (starting or shutting down).
 */
const SERVER_GONE = /^(08...|57P0[123])$/;

/** Prisma's codes for "can't reach / timed out / connection closed / pool timeout". */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
/** Driver adapter error kinds Prisma reports for the same. */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout"]);

/** node-postgres and PGlite messages that carry no code. */
const GONE_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed|Cannot use a pool after calling end|PGlite is closed)/i;

/** True when `err` (or what it wraps) says the database could not be reached or the connection died. */
export function isUnavailableError(err: unknown, depth = 0): boolean {
  if (depth > 4 || typeof err !== "object" || err === null) return false;
  if (err instanceof DatabaseUnavailableError) return true;
  const e = err as {
    code?: unknown;
    kind?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
    originalError?: unknown;
  };
  if (typeof e.code === "string") {
    // "UNAVAILABLE": a DatabaseUnavailableError after Prisma wrapped it (it keeps the code).
    if (
      e.code === "UNAVAILABLE" ||
      NETWORK_CODES.has(e.code) ||
      SERVER_GONE.test(e.code) ||
      PRISMA_CODES.has(e.code)
    )
      return true;
  }
  if (typeof e.kind === "string" && ADAPTER_KINDS.has(e.kind)) return true;
  if (typeof e.message === "string" && GONE_MESSAGES.test(e.message)) return true;
  return (
    isUnavailableError(e.cause, depth + 1) ||
    isUnavailableError(e.meta?.driverAdapterError, depth + 1) ||
    isUnavailableError(e.originalError, depth + 1)
  );
}

export interface AvailabilityOptions {
  /** Opens a connection of its own and runs a trivial statement; rejects while the database is away. */
  probe: () => Promise<void>;
  /** Called on every change between reachable and unreachable. */
  onChange?: (reachable: boolean) => void;
  /** Backoff of the probes while the database is away: from minMs, doubling, capped at maxMs. */
  minMs?: number;
  maxMs?: number;
}

/**
 * Tracks whether the database is reachable. A connection-level error makes it *suspect*: a probe
 * runs at once. Only a failed probe makes it *down*; while down, `refusal()` hands callers a
 * DatabaseUnavailableError instead of letting them wait on a connect that cannot succeed, and
 * probes go on with capped backoff, for as long as it takes, until one connects.
 */
export class AvailabilityMonitor {
  private state: "up" | "suspect" | "down" = "up";
  private probing: Promise<void> | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly opts: AvailabilityOptions) {}

  /** False while a probe has failed and none has succeeded since. */
  get reachable(): boolean {
    return this.state !== "down";
  }

  /** The error to throw instead of trying, or null when the database may be used. */
  refusal(): DatabaseUnavailableError | null {
    return this.state === "down" ? new DatabaseUnavailableError() : null;
  }

  /** Feed every error from the database here; connection-level ones start probing. */
  observe(err: unknown): void {
    if (isUnavailableError(err)) this.suspect();
  }

  /** Something (a dropped connection, a failed connect) suggests the database is away. */
  suspect(): void {
    if (this.abort.signal.aborted) return;
    if (this.state === "up") this.state = "suspect";
    this.probing ??= this.probeUntilUp().finally(() => {
      this.probing = null;
    });
  }

  /** A connection succeeded elsewhere (e.g. the listener reconnected): the database is back. */
  succeeded(): void {
    if (this.state !== "up" && !this.probing) this.set("up");
  }

  close(): void {
    this.abort.abort();
  }

  private async probeUntilUp(): Promise<void> {
    try {
      await pRetry(() => this.opts.probe(), {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: this.opts.minMs ?? 100,
        maxTimeout: this.opts.maxMs ?? 2000,
        signal: this.abort.signal,
        onFailedAttempt: () => this.set("down"),
      });
      this.set("up");
    } catch {
      // closed while probing
    }
  }

  private set(state: "up" | "down"): void {
    const was = this.reachable;
    this.state = state;
    if (was !== this.reachable) this.opts.onChange?.(this.reachable);
  }
}
