import { mkdirSync } from "node:fs";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { PrismaClient } from "../generated/prisma/client.js";
import { AvailabilityMonitor, DatabaseUnavailableError, isUnavailableError } from "./availability.js";
import { acquireDataDirLock, type DataDirLock } from "./data-dir-lock.js";
import { CONNECT_TIMEOUT_MS, Listener } from "./listener.js";
import { SignalSender } from "./signal-sender.js";

export type { PrismaClient };

/** What /ready reports about the database (see AvailabilityMonitor). */
export interface DatabaseHealth {
  /** False while the database is known to be unreachable (requests are refused as UNAVAILABLE). */
  reachable: boolean;
  /** False while this process's LISTEN connection is down and being re-established. */
  listening: boolean;
}

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
  /**
   * Whether the database is reachable and live signals flow. Errors of the raw paths (`query`,
   * `exec`, `withConnection`, `listen`) that mean the database is away are thrown as
   * DatabaseUnavailableError (no driver message); while it is known to be down they are thrown
   * at once, without waiting for a connection.
   */
  health(): DatabaseHealth;
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
  /**
   * Whether to load Prisma (default true). A dispatcher-only process works on raw SQL alone and skips
   * it: Prisma's client is the largest module a process loads and most of a dispatcher's start-up.
   * Without it, any use of `prisma` throws.
   */
  prisma?: boolean;
  onError?: (err: Error) => void;
}

type PrismaAdapter = NonNullable<ConstructorParameters<typeof PrismaClient>[0]["adapter"]>;

/** Prisma over this driver adapter, or a stand-in that refuses every use when Prisma is not loaded. */
async function prismaClient(load: boolean, adapter: () => Promise<PrismaAdapter>): Promise<PrismaClient> {
  if (!load) {
    return new Proxy({} as PrismaClient, {
      get(_target, prop) {
        // Not a thenable (it is returned from async code), and inspectable.
        if (prop === "then" || typeof prop === "symbol") return undefined;
        throw new Error(
          `Prisma is not loaded in this process (opened with prisma: false; used: ${String(prop)})`,
        );
      },
    });
  }
  // Loaded on demand, like the drivers: a process pays only for what it uses.
  const [{ PrismaClient }, a] = await Promise.all([import("../generated/prisma/client.js"), adapter()]);
  return new PrismaClient({ adapter: a });
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const db = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.prisma ?? true, opts.onError)
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
const PGLITE_SHARED_BUFFERS = ["-c", "shared_buffers=32MB"];

async function openPglite(opts: OpenOptions): Promise<DriverDatabase> {
  let pglite = opts.pglite;
  let lock: DataDirLock | undefined;
  if (!pglite) {
    const dir = opts.dataDir ?? "./.hookgate";
    // Private to the owner: it holds the database and, beside it, the encryption key.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // One process per data directory: another one's writes would go to a copy that is lost.
    lock = acquireDataDirLock(dir);
    try {
      const { PGlite } = await import("@electric-sql/pglite");
      pglite = await PGlite.create(`${dir}/pgdata`, {
        startParams: [...PGlite.defaultStartParams, ...PGLITE_SHARED_BUFFERS],
      });
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const db = pglite;
  const withPrisma = opts.prisma ?? true;
  const prisma = await prismaClient(withPrisma, async () => {
    const { PrismaPGlite } = await import("pglite-prisma-adapter");
    return new PrismaPGlite(db);
  });
  let closed = false;
  // The embedded database is this process: it is away only once closed.
  const guard = () => {
    if (closed) throw new DatabaseUnavailableError();
  };
  return {
    kind: "pglite",
    prisma,
    poolStats: () => null,
    async query<T>(sql: string, params?: unknown[]) {
      guard();
      const res = await db.query<T>(sql, params as unknown[] | undefined);
      return res.rows;
    },
    health: () => ({ reachable: !closed, listening: !closed }),
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
      if (withPrisma) await prisma.$disconnect();
      // PGlite MUST be closed or the process never exits (and the data dir stays locked).
      await db.close();
      lock?.release();
    },
  };
}

type DriverDatabase = Omit<Database, "signal" | "flushSignals">;

/**
 * A pg.Pool that refuses at once while the database is known to be down (instead of every
 * caller waiting on its own failed connect), and reports failed connects and dropped idle
 * connections to the monitor. Prisma's adapter goes through connect() too.
 */
class GuardedPool extends pg.Pool {
  monitor: AvailabilityMonitor | undefined;

  // pg-pool overloads connect() (callback and promise forms): both are kept.
  override connect(cb?: any): any {
    const refusal = this.monitor?.refusal();
    if (refusal) {
      if (cb) return void process.nextTick(cb, refusal);
      return Promise.reject(refusal);
    }
    if (cb) {
      return super.connect((err, client, done) => {
        if (err) this.monitor?.observe(err);
        cb(err, client, done);
      });
    }
    return super.connect().catch((err: unknown) => {
      this.monitor?.observe(err);
      throw err;
    });
  }
}

/** Errors of the raw paths: connection failures become the typed, retryable error (no driver text). */
function masked(monitor: AvailabilityMonitor, err: unknown): unknown {
  monitor.observe(err);
  return isUnavailableError(err) ? new DatabaseUnavailableError() : err;
}

async function openPostgres(
  url: string,
  poolSize: number,
  withPrisma: boolean,
  onError?: (err: Error) => void,
): Promise<DriverDatabase> {
  const pool = new GuardedPool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  const monitor = new AvailabilityMonitor({
    probe: async () => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("SELECT 1");
      } finally {
        await client.end().catch(() => {});
      }
    },
    onChange: (reachable) => {
      if (!reachable) onError?.(new DatabaseUnavailableError());
    },
  });
  pool.monitor = monitor;
  pool.on("error", (err) => {
    monitor.observe(err);
    onError?.(err);
  });
  const listener = new Listener(url, monitor, onError);

  // Fail fast on an unreachable database with the driver's own message (at start, for the operator).
  // Prisma loads meanwhile (on the one thread, but the connection's round trips overlap it).
  const [prisma] = await Promise.all([
    prismaClient(withPrisma, async () => {
      const { PrismaPg } = await import("@prisma/adapter-pg");
      return new PrismaPg(pool);
    }),
    pool.query("SELECT 1"),
  ]);

  return {
    kind: "postgres",
    prisma,
    poolStats: () => ({
      inUse: pool.totalCount - pool.idleCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }),
    async query<T>(sql: string, params?: unknown[], prepareAs?: string) {
      try {
        const res = prepareAs
          ? await pool.query({ name: prepareAs, text: sql, values: params })
          : await pool.query(sql, params as unknown[] | undefined);
        return res.rows as T[];
      } catch (err) {
        throw masked(monitor, err);
      }
    },
    async exec(sql: string) {
      try {
        await pool.query(sql);
      } catch (err) {
        throw masked(monitor, err);
      }
    },
    listen: (channel, onPayload) => listener.listen(channel, onPayload),
    async notify(channel, payload) {
      try {
        await pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
      } catch (err) {
        throw masked(monitor, err);
      }
    },
    health: () => ({ reachable: monitor.reachable, listening: listener.healthy }),
    async withConnection(fn) {
      let conn: pg.PoolClient;
      try {
        conn = await pool.connect();
      } catch (err) {
        throw masked(monitor, err);
      }
      let broken = false;
      try {
        return await fn(async <T>(sql: string, params?: unknown[]) => {
          try {
            return (await conn.query(sql, params as unknown[] | undefined)).rows as T[];
          } catch (err) {
            if (!(err as { code?: string }).code || isUnavailableError(err)) broken = true;
            throw masked(monitor, err);
          }
        });
      } finally {
        // A connection that failed below SQL level is destroyed, not returned to the pool.
        conn.release(broken);
      }
    },
    async close() {
      monitor.close();
      await listener.close();
      if (withPrisma) await prisma.$disconnect();
      await pool.end();
    },
  };
}
