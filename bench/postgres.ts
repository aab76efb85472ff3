/**
 * PostgreSQL for `npm run bench -- --db postgres`.
 *
 * With DATABASE_URL set, a fresh database `hookgate_bench_<time>` is created on that server (the role needs
 * CREATEDB) and dropped afterwards; nothing else on the server is touched. Without it, a throwaway cluster is
 * initialised from the machine's PostgreSQL binaries and started with DURABLE settings (fsync, synchronous
 * commit and full page writes on, as in production), then stopped and deleted at the end. As root, initdb
 * refuses to run, so the cluster belongs to the `postgres` user and runs through runuser.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { freePort, startTestCluster } from "../scripts/postgres-cluster.js";
import { track } from "./lib/procs.js";

export { freePort };

export interface BenchPostgres {
  /** URL of the (empty) database Hookgate gets. */
  url: string;
  /** "throwaway cluster" or "DATABASE_URL". */
  source: string;
  version: string;
  settings: Record<string, string>;
  /** The postmaster's pid when the cluster is ours (its backends are its children), for CPU accounting. */
  serverPid?: number;
  stop(): Promise<void>;
}

async function describe(url: string): Promise<{ version: string; settings: Record<string, string> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const v = await client.query<{ server_version: string }>("SHOW server_version");
    const names = ["fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections"];
    const s = await client.query<{ name: string; setting: string; unit: string | null }>(
      "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)",
      [names],
    );
    const settings: Record<string, string> = {};
    for (const r of s.rows)
      settings[r.name] = r.unit ? `${r.setting}${r.unit === "8kB" ? "x8kB" : r.unit}` : r.setting;
    return { version: v.rows[0].server_version, settings };
  } finally {
    await client.end();
  }
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const given = process.env.DATABASE_URL;
  if (given) return createDatabaseOn(given);
  return startCluster();
}

async function createDatabaseOn(serverUrl: string): Promise<BenchPostgres> {
  const name = `hookgate_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(
      `could not create a scratch database on DATABASE_URL (${(err as Error).message}); the benchmark needs ` +
        "a role with CREATEDB and never writes to your existing databases",
    );
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  const untrack = track({ name: `database ${name}`, stop: drop, kill: () => {} });
  const info = await describe(url);
  return {
    url,
    source: "DATABASE_URL (scratch database)",
    ...info,
    async stop() {
      await drop();
      untrack();
    },
  };
}

async function startCluster(): Promise<BenchPostgres> {
  const cluster = await startTestCluster({ durable: true, prefix: "hookgate-bench-pg-" });
  const untrack = track({
    name: "PostgreSQL cluster",
    stop: () => cluster.stop(),
    kill: () => void cluster.stop().catch(() => {}),
  });
  try {
    const c = new pg.Client({ connectionString: cluster.adminUrl });
    await c.connect();
    await c.query("CREATE DATABASE hookgate");
    await c.end();
    // Through the cluster's Unix socket, as a PostgreSQL on the same host is best reached: on this
    // kind of VM a loopback TCP round trip costs about a third more CPU (measured: 16,900 vs 23,000
    // `SELECT $1` per second over 8 connections).
    const url = `postgresql://postgres@localhost:${cluster.port}/hookgate?host=${cluster.dir}`;
    const info = await describe(url);
    return {
      url,
      source: "throwaway cluster, Unix socket",
      ...info,
      serverPid: Number(
        readFileSync(path.join(cluster.dir, "data", "postmaster.pid"), "utf8").split("\n")[0],
      ),
      async stop() {
        await cluster.stop();
        untrack();
      },
    };
  } catch (err) {
    await cluster.stop();
    untrack();
    throw err;
  }
}
