import type { Database } from "../db/database.js";
import type { ApiKeyScope } from "../generated/prisma/client.js";

/**
 * API-key lookups cached in the process (HOOKGATE_API_KEY_CACHE_MS; 0 = every request reads the key).
 * Without it every request reads the key first (publishing would be two round trips instead of one); this saves
 * that read for a key seen within the TTL.
 *
 * What a cached entry may hide, and for how long:
 * - Revocation: the revoking process evicts the key at once (revokeApiKey), and tells the others with a
 *   NOTIFY on API_KEY_REVOKED_CHANNEL, which they act on as it arrives. If that notification is lost
 *   (listener connection down), the TTL bounds it: an entry is served only while its read STARTED less
 *   than ttlMs ago, so no process accepts a key later than ttlMs after its revocation committed. A read
 *   that started before an eviction is not cached when it ends after it (the generation check), so an
 *   eviction is never undone by a read in flight.
 * - Expiry: never hidden: the cached expiry time is compared with the clock on every use.
 * - Unknown keys are not cached: a key created in another process works at once.
 */
export const API_KEY_REVOKED_CHANNEL = "hookgate_api_key_revoked";

export interface CachedKey {
  id: string;
  tenantId: string;
  tenantPath: string;
  scopes: ApiKeyScope[];
  revoked: boolean;
  /** ms since the epoch, or null: never expires. */
  expiresAt: number | null;
}

const MAX_ENTRIES = 10_000;

export class ApiKeyCache {
  private readonly entries = new Map<string, { key: CachedKey; readStartedAt: number }>();
  /** Bumped by every eviction: a read that started before one is not cached. */
  private generation = 0;
  private listening: Promise<(() => Promise<void>) | null> | null = null;
  private closed = false;

  constructor(
    private readonly db: Database,
    readonly ttlMs: number,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached key of this hash, if its read started within the TTL. */
  get(hash: string): CachedKey | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (this.now() - entry.readStartedAt < this.ttlMs) return entry.key;
    this.entries.delete(hash);
    return undefined;
  }

  /** Marks the start of a read; pass the mark to set() with its result. */
  startRead(): { at: number; generation: number } {
    return { at: this.now(), generation: this.generation };
  }

  set(hash: string, key: CachedKey, read: { at: number; generation: number }): void {
    if (this.ttlMs <= 0 || this.closed || read.generation !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(hash, { key, readStartedAt: read.at });
    this.listen();
  }

  /** Forgets the key with this id (revoked here or, as notified, in another process). */
  evictKey(id: string): void {
    this.generation++;
    for (const [hash, entry] of this.entries) if (entry.key.id === id) this.entries.delete(hash);
  }

  /** Tells the other processes, once the revocation has committed. */
  announceRevoked(id: string): void {
    this.db.signal(API_KEY_REVOKED_CHANNEL, id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.entries.clear();
    const unlisten = await this.listening?.catch(() => null);
    await unlisten?.().catch(() => {});
  }

  /** Listens for revocations from the first cached key on; if that fails, the TTL alone bounds them. */
  private listen(): void {
    if (this.listening) return;
    const listening = this.db
      .listen(API_KEY_REVOKED_CHANNEL, (id) => this.evictKey(id))
      .then(
        (unlisten) => unlisten,
        (err: unknown) => {
          this.onError(err);
          // The next cached key tries again.
          if (this.listening === listening) this.listening = null;
          return null;
        },
      );
    this.listening = listening;
  }
}
