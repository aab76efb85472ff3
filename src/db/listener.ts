import pRetry from "p-retry";
import pg from "pg";
import { type AvailabilityMonitor, DatabaseUnavailableError, isUnavailableError } from "./availability.js";

/** How long a new connection may take before it counts as failed (pg waits forever by default). */
export const CONNECT_TIMEOUT_MS = 5000;

/**
 * One dedicated connection carries every LISTEN of this process. When it drops, it is
 * re-established (p-retry, backoff from 100 ms doubling to 2 s) for as long as it takes, and
 * every channel is listened to again; `healthy` is false meanwhile (the /ready probe reports
 * it). Notifications sent while it was down are lost: signals are advisory (see SignalSender).
 */
export class Listener {
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly url: string,
    private readonly monitor: AvailabilityMonitor,
    private readonly onError?: (err: Error) => void,
  ) {}

  /** Connected, or nothing to listen to. */
  get healthy(): boolean {
    return this.channels.size === 0 || this.client !== undefined;
  }

  /**
   * Listens on `channel`. While the database is away this rejects with DatabaseUnavailableError
   * (after one connection attempt) rather than waiting for it to return.
   */
  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    if (this.abort.signal.aborted) throw new DatabaseUnavailableError();
    let set = this.channels.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(onPayload);
    const unlisten = async () => {
      const s = this.channels.get(channel);
      if (!s?.delete(onPayload) || s.size > 0) return;
      this.channels.delete(channel);
      const client = this.client;
      if (client && !this.abort.signal.aborted) {
        await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
    try {
      const client = this.client ?? (await this.firstAttempt());
      // A client connected before this channel was added must be told; one connected after
      // it listened to every channel already.
      if (first && this.client === client) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      await unlisten();
      this.monitor.observe(err);
      throw isUnavailableError(err) ? new DatabaseUnavailableError() : err;
    }
    return unlisten;
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.channels.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** Resolves with the connected client, or rejects when the reconnect loop's next attempt fails. */
  private firstAttempt(): Promise<pg.Client> {
    return new Promise((resolve, reject) => {
      this.ensureConnecting(reject).then(resolve, reject);
    });
  }

  private attemptFailed: ((err: unknown) => void)[] = [];

  private ensureConnecting(onAttemptFailed: (err: unknown) => void): Promise<pg.Client> {
    this.attemptFailed.push(onAttemptFailed);
    this.connecting ??= pRetry(() => this.connectOnce(), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 100,
      maxTimeout: 2000,
      signal: this.abort.signal,
      onFailedAttempt: ({ error }) => {
        this.monitor.observe(error);
        for (const fail of this.attemptFailed.splice(0)) fail(error);
      },
    }).finally(() => {
      this.connecting = undefined;
      this.attemptFailed = [];
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on("notification", (msg) => {
      for (const cb of this.channels.get(msg.channel) ?? []) cb(msg.payload ?? "");
    });
    client.on("error", (err) => this.dropped(client, err));
    client.on("end", () => this.dropped(client, new Error("Connection terminated")));
    try {
      await client.connect();
      for (const channel of this.channels.keys())
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
      throw err;
    }
    if (this.abort.signal.aborted) {
      await client.end().catch(() => {});
      throw new DatabaseUnavailableError();
    }
    this.client = client;
    this.monitor.succeeded();
    return client;
  }

  private dropped(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.abort.signal.aborted) return;
    this.onError?.(err);
    this.monitor.observe(err);
    // Reconnect for as long as it takes (attempt failures are reported through the monitor).
    if (this.channels.size > 0) this.ensureConnecting(() => {}).catch(() => {});
  }
}
