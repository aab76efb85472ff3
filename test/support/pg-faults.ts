/**
 * A throwaway PostgreSQL cluster of the test's own that the test may stop and start again
 * (`pg_ctl stop -m fast|immediate|smart`, start on the same port), for database-outage tests.
 * It has one migrated database; its commits are synchronous (an immediate stop loses nothing
 * that was acknowledged, as on a production server). Always `await cluster.close()`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { findPostgresBinaries, startTestCluster, type TestCluster } from "../../scripts/postgres-cluster.js";
import { openDatabase } from "../../src/db/database.js";
import { migrate } from "../../src/db/migrate.js";

export interface FaultCluster {
  /** URL of the migrated database. */
  url: string;
  /** Stops the server; "smart" returns at once and waits in the background for clients to leave. */
  stop(mode: "fast" | "immediate" | "smart"): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Runs one statement as superuser on the database (a fresh connection). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** A superuser connection the test holds open (e.g. across a smart shutdown); end() it. */
  holdConnection(): Promise<pg.Client & { pid: number }>;
  close(): Promise<void>;
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  const runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].find(existsSync) ?? "runuser";
  return [runuser, ["-u", "postgres", "--", cmd, ...args]];
}

export async function startFaultCluster(): Promise<FaultCluster> {
  const bins = findPostgresBinaries();
  if (!bins) throw new Error("no PostgreSQL binaries: apt-get install -y postgresql");
  const cluster: TestCluster = await startTestCluster({ prefix: "hookgate-faults-" });
  const dataDir = path.join(cluster.dir, "data");
  const pgCtl = (args: string[], wait = true) => {
    const [file, argv] = asPostgres(bins.pgCtl, args);
    if (!wait) {
      spawn(file, argv, { stdio: "ignore" }).unref();
      return;
    }
    const res = spawnSync(file, argv, { encoding: "utf8", timeout: 60_000 });
    if (res.status !== 0) throw new Error(`pg_ctl ${args[0]} failed: ${res.stdout}${res.stderr}`);
  };
  const admin = new URL(cluster.adminUrl);
  const url = new URL(cluster.adminUrl);
  url.pathname = "/hookgate";
  const sql = async <T>(text: string, params?: unknown[], on = url.toString()): Promise<T[]> => {
    const client = new pg.Client({ connectionString: on });
    client.on("error", () => {});
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end().catch(() => {});
    }
  };
  try {
    await sql("CREATE DATABASE hookgate", [], admin.toString());
    await sql("ALTER DATABASE hookgate SET synchronous_commit = on", [], admin.toString());
    const db = await openDatabase({ databaseUrl: url.toString(), poolSize: 1 });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return {
    url: url.toString(),
    async stop(mode) {
      if (mode === "smart") pgCtl(["stop", "-D", dataDir, "-m", "smart", "-W"], false);
      else pgCtl(["stop", "-D", dataDir, "-m", mode, "-w"]);
    },
    async start() {
      const opts = [
        `-p ${cluster.port}`,
        "-h 127.0.0.1",
        `-k ${cluster.dir}`,
        "-c fsync=off",
        "-c full_page_writes=off",
        "-c max_connections=300",
      ].join(" ");
      pgCtl([
        "start",
        "-D",
        dataDir,
        "-l",
        path.join(cluster.dir, "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        opts,
      ]);
    },
    sql: (text, params) => sql(text, params),
    async holdConnection() {
      const client = new pg.Client({ connectionString: url.toString() });
      client.on("error", () => {});
      await client.connect();
      const [row] = (await client.query("SELECT pg_backend_pid() AS pid")).rows as { pid: number }[];
      return Object.assign(client, { pid: row!.pid });
    },
    async close() {
      try {
        await cluster.stop();
      } catch (err) {
        // Already stopped by the test: the files are removed all the same.
        if (existsSync(path.join(dataDir, "postmaster.pid"))) throw err;
      }
    },
  };
}

/** Polls `check` every 50 ms until it returns true; throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
