import { hashApiKey } from "../security/api-keys.js";
import { type AuthResult, authenticate } from "./api-keys.js";
import type { App } from "./app.js";

/**
 * Re-checks of API keys held by long-lived connections (graphql-ws), shared per key.
 *
 * An open WebSocket re-reads its key at most every `windowMs` while results flow, so that
 * revocation and expiry reach it. Done per socket, a thousand sockets on one key cost a
 * thousand identical reads per window, each holding back that socket's next message. Here the
 * sockets of one key share the read: a socket due for a check joins a read of its key that
 * *started* less than `windowMs` ago (or starts one), and records that start as its own check
 * time. The guarantee is the one a per-socket read gives: every result a socket sends is
 * preceded by a successful read of its key that started within the last `windowMs`.
 *
 * These reads bypass the API-key cache (they are the re-check). Failed reads (database errors) are not
 * kept: the next caller tries again.
 */
export interface KeyCheck {
  result: AuthResult;
  /** When the read behind `result` started (ms since the epoch). */
  startedAt: number;
}

export class SharedKeyChecks {
  private readonly reads = new Map<string, { startedAt: number; read: Promise<AuthResult> }>();
  /** Reads started (for tests and metrics). */
  readsStarted = 0;

  constructor(
    private readonly app: App,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a connection whose last check started at `checkedAt` must check again. */
  due(checkedAt: number): boolean {
    return this.now() - checkedAt >= this.windowMs;
  }

  async check(key: string): Promise<KeyCheck> {
    const now = this.now();
    // Held by hash: the map outlives the sockets, the plaintext need not.
    const id = hashApiKey(key);
    const current = this.reads.get(id);
    if (current && now - current.startedAt < this.windowMs) {
      return { result: await current.read, startedAt: current.startedAt };
    }
    const entry = { startedAt: now, read: authenticate(this.app, key, { fresh: true }) };
    this.reads.set(id, entry);
    this.readsStarted++;
    entry.read.catch(() => {
      if (this.reads.get(id) === entry) this.reads.delete(id);
    });
    this.sweep(now);
    return { result: await entry.read, startedAt: entry.startedAt };
  }

  /** Drops reads too old to be joined, so keys no longer used are not kept. */
  private sweep(now: number): void {
    if (this.reads.size < 64) return;
    for (const [id, entry] of this.reads) {
      if (now - entry.startedAt >= this.windowMs) this.reads.delete(id);
    }
  }
}
