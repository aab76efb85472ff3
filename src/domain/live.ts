import type { Database } from "../db/database.js";
import { DELIVERY_UPDATES_CHANNEL, type DeliveryUpdateSignal, decodeDeliveryUpdate } from "./signals.js";

/**
 * Live delivery updates, fanned out in-process.
 *
 * Every process that serves subscriptions holds at most ONE listener on
 * DELIVERY_UPDATES_CHANNEL, started by its first subscriber and stopped when its last one
 * leaves, so an API process nobody watches pays nothing. Each signal carries what the filters
 * need (tenant path, endpoint, event type, status), so filtering costs no query; loading the
 * rows a subscriber asked for goes through `rows` (a per-signal cache), so N subscribers of
 * one update share one query instead of issuing N.
 *
 * Delivery is best-effort: a signal sent while the Postgres LISTEN connection is reconnecting
 * is lost, and a slow subscriber loses its oldest buffered updates. The queries (deliveries,
 * attempts) remain the source of truth; subscribers that must not miss anything re-query
 * after reconnecting.
 */

/** What a subscriber wants; every list given must contain the signal's value. */
export interface LiveFilter {
  /** Subtree the subscriber may see: signals whose tenant path starts with it. */
  tenantPath: string;
  /** Only signals of exactly this tenant path (a tenant in the subtree above). */
  exactTenantPath?: string | null;
  endpointIds?: readonly string[] | null;
  eventTypes?: readonly string[] | null;
  statuses?: readonly string[] | null;
  deliveryIds?: readonly string[] | null;
}

/** One received signal; `seq` is unique per hub and keys the shared row cache. */
export interface LiveUpdate {
  seq: number;
  signal: DeliveryUpdateSignal;
}

const issued = new WeakSet<object>();

/**
 * True for an update a hub issued. The hub makes one object per signal, hands that same
 * object to every matching subscriber and never reuses it for another signal, so its identity
 * names the signal: work done for it (a subscription's execution) may be shared by identity.
 */
export function isLiveUpdate(value: unknown): value is LiveUpdate {
  return typeof value === "object" && value !== null && issued.has(value);
}

export interface LiveOptions {
  /**
   * Updates buffered per subscriber that has not consumed them yet. When full, the oldest is
   * dropped (and counted), so a stalled client costs at most this much memory. Dropping the
   * oldest rather than disconnecting keeps a briefly slow dashboard alive, and the newest
   * updates are the ones that describe the current state.
   */
  bufferSize?: number;
  /** How long loaded rows stay shared between subscribers of one signal. */
  cacheTtlMs?: number;
  /** Most rows kept in that cache (oldest evicted first). */
  cacheMaxEntries?: number;
  onError?: (err: unknown) => void;
}

// A slot holds a reference to the update object every matching subscriber shares (one per signal), so a
// full buffer costs ~32 KB per subscriber. 256 slots overflowed in ordinary bursts: 600 deliveries by three
// dispatchers are ~1,800 updates within a second or two, and the fault suite's subscriber lost 89 of its 600
// SUCCEEDED updates once the dispatchers got faster.
export const DEFAULT_BUFFER_SIZE = 4096;
const DEFAULT_CACHE_TTL_MS = 5_000;
const DEFAULT_CACHE_MAX_ENTRIES = 2_000;

export function matchesFilter(signal: DeliveryUpdateSignal, filter: LiveFilter): boolean {
  if (!signal.t.startsWith(filter.tenantPath)) return false;
  if (filter.exactTenantPath != null && signal.t !== filter.exactTenantPath) return false;
  if (filter.endpointIds && !filter.endpointIds.includes(signal.e)) return false;
  if (filter.eventTypes && !filter.eventTypes.includes(signal.y)) return false;
  if (filter.statuses && !filter.statuses.includes(signal.s)) return false;
  if (filter.deliveryIds && !filter.deliveryIds.includes(signal.d)) return false;
  return true;
}

/**
 * Promises of loaded rows, keyed by signal and by what was asked (e.g. the Prisma query a
 * GraphQL selection produced): subscribers with the same selection share one query per
 * signal. Keys include the signal's seq, never just the delivery id, so that consecutive
 * updates of one delivery each read fresh rows.
 */
export class SignalRowCache {
  private readonly entries = new Map<string, { expires: number; value: Promise<unknown> }>();
  loads = 0;
  hits = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get<T>(seq: number, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    this.evict(now);
    const fullKey = `${seq}\u0000${key}`;
    const hit = this.entries.get(fullKey);
    if (hit && hit.expires > now) {
      this.hits++;
      return hit.value as Promise<T>;
    }
    this.loads++;
    const value = load();
    this.entries.set(fullKey, { expires: now + this.ttlMs, value });
    // A failed load is shared with those already waiting but not kept for later callers.
    value.catch(() => {
      if (this.entries.get(fullKey)?.value === value) this.entries.delete(fullKey);
    });
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private evict(now: number): void {
    // Insertion order is expiry order (one TTL for all), so expired entries are at the front.
    for (const [key, entry] of this.entries) {
      if (entry.expires > now && this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}

type Waiter = { resolve: (r: IteratorResult<LiveUpdate>) => void; reject: (err: unknown) => void };

/** One subscriber's stream: an async iterator over matching updates with a bounded buffer. */
export class LiveSubscription implements AsyncIterableIterator<LiveUpdate> {
  /** Resolves once the hub is listening, i.e. updates sent from now on reach this subscriber. */
  readonly ready: Promise<void>;
  /** Updates dropped because the buffer was full. */
  dropped = 0;
  private readonly buffer: LiveUpdate[] = [];
  private waiter: Waiter | null = null;
  private failure: unknown = null;
  private done = false;

  constructor(
    readonly filter: LiveFilter,
    private readonly bufferSize: number,
    ready: Promise<void>,
    private readonly onEnd: (sub: LiveSubscription) => void,
  ) {
    this.ready = ready;
    // Observed here so that a failed LISTEN is never an unhandled rejection; fail() reports it.
    ready.catch(() => {});
  }

  /** Called by the hub for each signal that passed the filter. */
  push(update: LiveUpdate): void {
    if (this.done) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: update, done: false });
      return;
    }
    if (this.buffer.length >= this.bufferSize) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(update);
  }

  /** Ends the stream with an error (after what is buffered). */
  fail(err: unknown): void {
    if (this.done) return;
    this.failure = err;
    if (this.waiter && this.buffer.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      this.finish();
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<LiveUpdate>> {
    const value = this.buffer.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.failure !== null && !this.done) {
      const err = this.failure;
      this.finish();
      return Promise.reject(err);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<LiveUpdate>> {
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<LiveUpdate>> {
    this.finish();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  get closed(): boolean {
    return this.done;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.buffer.length = 0;
    const w = this.waiter;
    this.waiter = null;
    w?.resolve({ value: undefined, done: true });
    this.onEnd(this);
  }
}

/** The per-process fan-out of DELIVERY_UPDATES_CHANNEL. Get it with liveUpdates(db). */
export class DeliveryUpdateHub {
  readonly rows: SignalRowCache;
  private readonly subscribers = new Set<LiveSubscription>();
  private readonly bufferSize: number;
  private readonly onError: (err: unknown) => void;
  private seq = 0;
  /**
   * Generation of the current listener; a callback from an older one (still being torn down
   * while a new one starts) is ignored, so no signal is delivered twice.
   */
  private generation = 0;
  private listening: Promise<() => Promise<void>> | null = null;
  private stopping: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly db: Database,
    opts: LiveOptions = {},
  ) {
    this.bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
    this.onError = opts.onError ?? (() => {});
    this.rows = new SignalRowCache(
      opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS,
      opts.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES,
    );
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** True while a LISTEN is established or being established. */
  get isListening(): boolean {
    return this.listening !== null;
  }

  /** Resolves once the current listener is established (at once when there is none). */
  ready(): Promise<void> {
    return this.listening ? this.listening.then(() => {}) : Promise.resolve();
  }

  subscribe(filter: LiveFilter, opts: { bufferSize?: number } = {}): LiveSubscription {
    if (this.closed) throw new Error("live delivery updates are closed");
    const ready = this.ensureListening();
    const sub = new LiveSubscription(filter, opts.bufferSize ?? this.bufferSize, ready, (s) => this.leave(s));
    this.subscribers.add(sub);
    ready.catch((err) => sub.fail(err));
    return sub;
  }

  /** Ends every subscription and stops listening. Later subscribe() calls throw. */
  async close(): Promise<void> {
    this.closed = true;
    for (const sub of [...this.subscribers]) await sub.return();
    this.stopListening();
    await this.stopping;
    this.rows.clear();
  }

  private ensureListening(): Promise<void> {
    if (!this.listening) {
      const generation = ++this.generation;
      // Start only after a previous UNLISTEN finished, so the two never interleave on the
      // one listener connection.
      const listening = this.stopping.then(() =>
        this.db.listen(DELIVERY_UPDATES_CHANNEL, (payload) => this.dispatch(generation, payload)),
      );
      this.listening = listening;
      listening.catch((err) => {
        this.onError(err);
        // The next subscriber tries again.
        if (this.listening === listening) this.listening = null;
      });
    }
    return this.listening.then(() => {});
  }

  private stopListening(): void {
    const listening = this.listening;
    if (!listening) return;
    this.listening = null;
    this.generation++;
    const previous = this.stopping;
    this.stopping = previous
      .then(() => listening)
      .then((unlisten) => unlisten())
      .catch((err) => this.onError(err));
  }

  private leave(sub: LiveSubscription): void {
    this.subscribers.delete(sub);
    if (this.subscribers.size === 0) this.stopListening();
  }

  private dispatch(generation: number, payload: string): void {
    if (generation !== this.generation) return;
    const signal = decodeDeliveryUpdate(payload);
    if (!signal) {
      this.onError(new Error(`ignored a malformed delivery update signal: ${payload.slice(0, 200)}`));
      return;
    }
    const update: LiveUpdate = Object.freeze({ seq: ++this.seq, signal: Object.freeze(signal) });
    issued.add(update);
    for (const sub of this.subscribers) {
      if (matchesFilter(signal, sub.filter)) sub.push(update);
    }
  }
}

const hubs = new WeakMap<Database, DeliveryUpdateHub>();

/** The process's hub for this database (created on first use; options apply then). */
export function liveUpdates(db: Database, opts?: LiveOptions): DeliveryUpdateHub {
  let hub = hubs.get(db);
  if (!hub) {
    hub = new DeliveryUpdateHub(db, opts);
    hubs.set(db, hub);
  }
  return hub;
}

/** Ends every live subscription on this database and stops listening; call before closing it. */
export async function closeLiveUpdates(db: Database): Promise<void> {
  const hub = hubs.get(db);
  if (!hub) return;
  hubs.delete(db);
  await hub.close();
}
