import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pRetry from "p-retry";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.js";
import { SignalSender } from "./signal-sender.js";

export type { PrismaClient };

/**
 * One handle on the database, embedded (PGlite) or PostgreSQL. Prisma serves the domain
 * code; `query`/`exec` go straight to the driver for the few hot or multi-statement paths
 * (migrations, the dispatcher's queue queries) and `listen`/`notify` carry wake-ups and
 * live updates between processes (Prisma itself cannot receive notifications).
 */
export interface Database {
  readonly kind: "pglite" | "postgres";
  readonly prisma: PrismaClient;
  /**
   * Parameterised single statement through the raw driver. `prepareAs` names a hot statement so that
   * PostgreSQL parses and plans it once per connection (each name must always carry the same text);
   * PGlite ignores it.
   */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], prepareAs?: string): Promise<T[]>;
  /** One or more statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Subscribe to a NOTIFY channel; resolves once listening. Returns an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Queues a NOTIFY to be sent after the caller's change has committed, batched with others and
   * without waiting for a WAL flush (see SignalSender). Use for signals announcing committed rows.
   */
  signal(channel: string, payload: string): void;
  /** Resolves when every signal queued so far has been sent. */
  flushSignals(): Promise<void>;
  /**
   * Runs fn on ONE connection for its whole duration (session advisory locks, hand-written
   * BEGIN/COMMIT). On PGlite there is only one connection: other queries wait meanwhile.
   */
  withConnection<T>(fn: (query: RawQuery) => Promise<T>): Promise<T>;
  /** The connection pool's state now (metrics); null on PGlite, which has one connection and no pool. */
  poolStats(): PoolStats | null;
  close(): Promise<void>;
}

export interface PoolStats {
  /** Connections handed out to a query or transaction. */
  inUse: number;
  idle: number;
  /** Queries and transactions waiting for a connection. */
  waiting: number;
}

export type RawQuery = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface OpenOptions {
  databaseUrl?: string;
  dataDir?: string;
  poolSize?: number;
  /** An already-created PGlite (tests share a migrated template this way). */
  pglite?: PGlite;
  onError?: (err: Error) => void;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const db = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.onError)
    : await openPglite(opts);
  const signals = new SignalSender(
    (sql, params, prepareAs) => db.query(sql, params, prepareAs),
    (err) => opts.onError?.(err),
  );
  return {
    ...db,
    signal: (channel, payload) => signals.send(channel, payload),
    flushSignals: () => signals.flush(),
    async close() {
      await signals.close();
      await db.close();
    },
  };
}

/**
 * PGlite is PostgreSQL inside this process, so its buffer cache is this process's memory: initdb's
 * shared_buffers=128MB is zeroed at start and then resident (~115 MB of RSS before the first query).
 * 32MB (wal_buffers follows at 1/32) keeps the embedded process near 300 MB with a million-delivery
 * backlog; pages beyond it come from the operating system's file cache, which is not ours to count.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB"];

async function openPglite(opts: OpenOptions): Promise<DriverDatabase> {
  let pglite = opts.pglite;
  if (!pglite) {
    const dir = opts.dataDir ?? "./.hookgate";
    // Private to the owner: it holds the database and, beside it, the encryption key.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    pglite = await PGlite.create(`${dir}/pgdata`, { startParams: PGLITE_START_PARAMS });
  }
  const db = pglite;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  let closed = false;
  return {
    kind: "pglite",
    prisma,
    poolStats: () => null,
    async query<T>(sql: string, params?: unknown[]) {
      const res = await db.query<T>(sql, params as unknown[] | undefined);
      return res.rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async listen(channel, onPayload) {
      const unlisten = await db.listen(channel, onPayload);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    async notify(channel, payload) {
      await db.query("SELECT pg_notify($1, $2)", [channel, payload]);
    },
    async withConnection(fn) {
      // exec() for parameterless SQL so that multi-statement migrations work; it returns
      // the rows of the last statement.
      return fn(async <T>(sql: string, params?: unknown[]) => {
        if (params && params.length > 0) return (await db.query<T>(sql, params)).rows;
        const results = await db.exec(sql);
        return (results.at(-1)?.rows ?? []) as T[];
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      // PGlite MUST be closed or the process never exits (and the data dir stays locked).
      await db.close();
    },
  };
}

type DriverDatabase = Omit<Database, "signal" | "flushSignals">;

async function openPostgres(
  url: string,
  poolSize: number,
  onError?: (err: Error) => void,
): Promise<DriverDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on("error", (err) => onError?.(err));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;

  // One dedicated connection carries every LISTEN of this process. If it drops, it is
  // re-established (p-retry with backoff) and every channel is listened to again.
  const connectListener = (): Promise<pg.Client> => {
    connecting ??= pRetry(
      async () => {
        const client = new pg.Client({ connectionString: url });
        client.on("notification", (msg) => {
          for (const cb of listeners.get(msg.channel) ?? []) cb(msg.payload ?? "");
        });
        client.on("error", (err) => {
          onError?.(err);
          if (listenClient === client) {
            listenClient = undefined;
            connecting = undefined;
            client.end().catch(() => {});
            if (!closed && listeners.size > 0) connectListener().catch((e) => onError?.(e));
          }
        });
        await client.connect();
        for (const channel of listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        listenClient = client;
        return client;
      },
      { retries: 8, minTimeout: 100, maxTimeout: 5000, shouldRetry: () => !closed },
    );
    return connecting;
  };

  // Fail fast on an unreachable database with the driver's own message.
  await pool.query("SELECT 1");

  return {
    kind: "postgres",
    prisma,
    poolStats: () => ({
      inUse: pool.totalCount - pool.idleCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }),
    async query<T>(sql: string, params?: unknown[], prepareAs?: string) {
      const res = prepareAs
        ? await pool.query({ name: prepareAs, text: sql, values: params })
        : await pool.query(sql, params as unknown[] | undefined);
      return res.rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async listen(channel, onPayload) {
      let set = listeners.get(channel);
      const first = !set;
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(onPayload);
      const client = await connectListener();
      if (first && listenClient === client) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return async () => {
        const s = listeners.get(channel);
        if (!s) return;
        s.delete(onPayload);
        if (s.size === 0) {
          listeners.delete(channel);
          if (listenClient && !closed) await listenClient.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
        }
      };
    },
    async notify(channel, payload) {
      await pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
    },
    async withConnection(fn) {
      const conn = await pool.connect();
      let broken = false;
      try {
        return await fn(async <T>(sql: string, params?: unknown[]) => {
          try {
            return (await conn.query(sql, params as unknown[] | undefined)).rows as T[];
          } catch (err) {
            if (!(err as { code?: string }).code) broken = true;
            throw err;
          }
        });
      } finally {
        // A connection that failed below SQL level is destroyed, not returned to the pool.
        conn.release(broken);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      const client = listenClient;
      listenClient = undefined;
      await client?.end().catch(() => {});
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
