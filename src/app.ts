import type { Config, Role } from "./config.js";
import { acquireDataDirLock, type DataDirLock } from "./db/data-dir-lock.js";
import { type Database, openDatabase } from "./db/database.js";
import { migrate } from "./db/migrate.js";
import { createDispatcher, type Dispatcher } from "./dispatcher/index.js";
import { ApiKeyCache } from "./domain/api-key-cache.js";
import { createFirstAdminKeyIfNone, ensureAdminKey } from "./domain/api-keys.js";
import type { App } from "./domain/app.js";
import { closeLiveUpdates } from "./domain/live.js";
import { type RetentionSchedule, scheduleRetention } from "./domain/retention.js";
import { ensureRootTenant } from "./domain/tenants.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, watchDatabase } from "./metrics.js";
import { createCipher, loadOrCreateKeyFile } from "./security/crypto.js";
import { policyFromConfig } from "./security/url-policy.js";
import type { RunningServer } from "./server/index.js";
import { bindHttpServer, boundPort, serveProbes } from "./server/listen.js";
import { HOOKGATE_VERSION } from "./version.js";

/** Serialises first-start bootstrap between processes sharing one Postgres. */
const BOOTSTRAP_LOCK_KEY = 72707370;

export interface CreateAppOptions {
  /** Use this database instead of opening one from config (tests). Not closed by app.close(). */
  db?: Database;
  /**
   * The database from config, already being opened by the caller (the CLI connects a dispatcher while the
   * application loads). Owned like one opened here: closed by app.close(), or when the start fails.
   */
  database?: Promise<Database>;
  logger?: Logger;
  /** DNS resolver for URL checks and deliveries (tests); default: the system's. */
  dnsLookup?: App["dnsLookup"];
  /** Load Prisma (default true); a dispatcher-only process runs on raw SQL and skips it (db/database.ts). */
  prisma?: boolean;
}

export interface AppHandle extends App {
  close(): Promise<void>;
}

/** Opens the database, applies migrations and builds the shared App. */
export async function createApp(config: Config, opts: CreateAppOptions = {}): Promise<AppHandle> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const db =
    opts.db ??
    (await opts.database) ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
      prisma: opts.prisma,
      onError: (err) => logger.warn({ err }, "database connection error"),
    }));
  try {
    const result = await migrate(db);
    if (result.applied.length > 0) logger.info({ applied: result.applied }, "applied migrations");
    for (const name of result.modified)
      logger.warn({ migration: name }, "applied migration was modified since");
    const key = config.encryptionKey ?? loadOrCreateKeyFile(config.dataDir);
    const metrics = createMetrics();
    watchDatabase(metrics, db, { onError: (err) => logger.warn({ err }, "metrics: database sample failed") });
    const app: App = {
      config,
      db,
      prisma: db.prisma,
      cipher: createCipher(key),
      logger,
      urlPolicy: policyFromConfig(config),
      metrics,
      keyCache: new ApiKeyCache(db, config.apiKeyCacheMs, (err) =>
        logger.warn({ err }, "API-key cache: cannot hear revocations; its TTL alone bounds them"),
      ),
      dnsLookup: opts.dnsLookup,
    };
    return {
      ...app,
      async close() {
        await app.keyCache.close();
        if (!opts.db) await db.close();
      },
    };
  } catch (err) {
    if (!opts.db) await db.close().catch(() => {});
    throw err;
  }
}

/**
 * Root tenant and admin keys on start: HOOKGATE_ADMIN_KEY is ensured; without it, a first
 * start with no keys at all creates one and returns it (printed once by the CLI).
 */
export async function bootstrap(app: App): Promise<{ firstAdminKey: string | null }> {
  return app.db.withConnection(async (query) => {
    await query(`SELECT pg_advisory_lock(${BOOTSTRAP_LOCK_KEY})`);
    try {
      await ensureRootTenant(app);
      if (app.config.adminKey) {
        await ensureAdminKey(app, app.config.adminKey);
        return { firstAdminKey: null };
      }
      return { firstAdminKey: await createFirstAdminKeyIfNone(app) };
    } finally {
      await query(`SELECT pg_advisory_unlock(${BOOTSTRAP_LOCK_KEY})`);
    }
  });
}

export interface Hookgate {
  app: AppHandle;
  /** Every role serves /health, /ready and /metrics; /graphql only with the api role (or all). */
  server: RunningServer;
  /** Running when the role is "dispatcher" or "all". */
  dispatcher: Dispatcher | null;
  firstAdminKey: string | null;
  /** Graceful stop: stop accepting, finish or release in-flight work, close the database. */
  stop(): Promise<void>;
}

export interface StartOptions extends CreateAppOptions {
  role?: Role;
  port?: number;
  host?: string;
}

/** Everything `hookgate serve` runs, for the CLI and for tests. */
export async function startHookgate(config: Config, opts: StartOptions = {}): Promise<Hookgate> {
  const role = opts.role ?? config.role;
  // The port first: a port in use is refused before the database is opened or anything written (a connection
  // the CLI opened meanwhile, opts.database, is closed).
  const httpServer = await bindHttpServer(opts.port ?? config.port, opts.host ?? config.host).catch(
    async (err: unknown) => {
      await opts.database?.then(
        (db) => db.close(),
        () => {},
      );
      throw err;
    },
  );
  const bound = boundPort(httpServer);
  let lock: DataDirLock | undefined;
  let app: AppHandle;
  try {
    // Embedded: this process owns the data directory while it serves (see data-dir-lock.ts).
    if (!opts.db && !config.databaseUrl) {
      lock = acquireDataDirLock(config.dataDir, {
        command: "hookgate serve",
        port: bound.port,
        host: opts.host ?? config.host,
      });
    }
    // A dispatcher-only process never uses Prisma: not loading it is most of its start-up time.
    app = await createApp(config, { prisma: role !== "dispatcher", ...opts });
  } catch (err) {
    lock?.release();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    throw err;
  }
  let server: RunningServer | null = null;
  let dispatcher: Dispatcher | null = null;
  let retention: RetentionSchedule | null = null;
  try {
    // The root tenant and admin keys are the API's: a dispatcher-only process starts delivering without
    // waiting for them (the first API process creates them).
    const { firstAdminKey } = role === "dispatcher" ? { firstAdminKey: null } : await bootstrap(app);
    if (role === "dispatcher" || role === "all") {
      dispatcher = createDispatcher(app);
      await dispatcher.start();
      retention = scheduleRetention(app);
    }
    // Every role serves /health, /ready and /metrics on its port; api and all serve /graphql too.
    if (role === "api" || role === "all") {
      // Loaded only for the roles that serve the API: GraphQL, Yoga and the schema take most of a
      // process's start-up, and a dispatcher-only process must be delivering within 0.5 s of spawn.
      const { startServer } = await import("./server/index.js");
      server = await startServer(app, { httpServer });
    } else {
      server = serveProbes(app, httpServer);
    }
    app.logger.info(
      {
        role,
        port: server.port,
        database: app.db.kind,
        ...(app.db.kind === "pglite" ? { dataDir: config.dataDir } : {}),
        version: HOOKGATE_VERSION,
        pid: process.pid,
        retention: config.retentionMs > 0 ? config.retentionMs : "off",
      },
      "Hookgate started",
    );
    let stopping: Promise<void> | null = null;
    const running = server;
    return {
      app,
      server: running,
      dispatcher,
      firstAdminKey,
      stop() {
        stopping ??= (async () => {
          // The dispatcher MUST finish or release its in-flight work before the database closes,
          // or those deliveries wait a whole lease before anyone may send them again.
          const settled = await Promise.allSettled([running.close(), dispatcher?.stop(), retention?.stop()]);
          await closeLiveUpdates(app.db);
          await app.close();
          lock?.release();
          for (const r of settled) if (r.status === "rejected") throw r.reason;
        })();
        return stopping;
      },
    };
  } catch (err) {
    await retention?.stop().catch(() => {});
    if (server) await server.close().catch(() => {});
    else await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    await dispatcher?.stop().catch(() => {});
    await app.close().catch(() => {});
    lock?.release();
    throw err;
  }
}
