/**
 * PostgreSQL for `npm run bench -- --db postgres`.
 *
 * With DATABASE_URL set, a fresh database `hookgate_bench_<time>` is created on that server (the role needs
 * CREATEDB) and dropped afterwards; nothing else on the server is touched. Without it, a throwaway cluster is
 * initialised from the machine's PostgreSQL binaries and started with DURABLE settings (fsync, synchronous
 * commit and full page writes on, as in production), then stopped and deleted at the end. As root, initdb
 * refuses to run, so the cluster belongs to the `postgres` user and runs through runuser.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { track } from "./lib/procs.js";

export interface BenchPostgres {
  /** URL of the (empty) database Hookgate gets. */
  url: string;
  /** "throwaway cluster" or "DATABASE_URL". */
  source: string;
  version: string;
  settings: Record<string, string>;
  stop(): Promise<void>;
}

function findBinDir(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  for (const d of dirs)
    if (existsSync(path.join(d, "initdb")) && existsSync(path.join(d, "pg_ctl"))) return d;
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const v = readdirSync(base)
    .filter((x) => existsSync(path.join(base, x, "bin", "initdb")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))[0];
  return v ? path.join(base, v, "bin") : undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
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

function runuserPath(): string {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  const d = dirs.find((x) => x && existsSync(path.join(x, "runuser")));
  if (!d) throw new Error("running as root needs runuser (util-linux) to start PostgreSQL as user postgres");
  return path.join(d, "runuser");
}

async function startCluster(): Promise<BenchPostgres> {
  const bin = findBinDir();
  if (!bin) {
    throw new Error(
      "--db postgres: set DATABASE_URL, or install PostgreSQL (initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin)",
    );
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "hookgate-bench-pg-"));
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const run = (cmd: string, args: string[]) => {
    const file = path.join(bin, cmd);
    const [f, argv] = asRoot ? [runuserPath(), ["-u", "postgres", "--", file, ...args]] : [file, args];
    const res = spawnSync(f, argv, { encoding: "utf8", cwd: dir, timeout: 120_000 });
    if (res.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
      throw new Error(
        `${cmd} ${args.join(" ")} failed (${res.status ?? res.signal}):\n${res.stdout}${res.stderr}${log}`,
      );
    }
  };
  let started = false;
  let stopped = false;
  const stopSync = (mode: "fast" | "immediate") => {
    if (stopped) return;
    stopped = true;
    try {
      if (started || existsSync(path.join(dataDir, "postmaster.pid")))
        run("pg_ctl", ["stop", "-D", dataDir, "-m", mode, "-w"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const untrack = track({
    name: "PostgreSQL cluster",
    stop: async () => stopSync("fast"),
    kill: () => stopSync("immediate"),
  });
  try {
    // --no-sync only skips syncing initdb's own files; the server below runs fully durable.
    run("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = [
        `-p ${port}`,
        "-h 127.0.0.1",
        `-k ${dir}`,
        "-c fsync=on",
        "-c synchronous_commit=on",
        "-c full_page_writes=on",
        "-c shared_buffers=256MB",
        "-c max_connections=200",
        "-c max_wal_size=2GB",
      ].join(" ");
      try {
        run("pg_ctl", ["start", "-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", opts]);
        started = true;
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    const admin = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query("CREATE DATABASE hookgate");
    await c.end();
    const url = `postgresql://postgres@127.0.0.1:${port}/hookgate`;
    const info = await describe(url);
    return {
      url,
      source: `throwaway cluster (${bin})`,
      ...info,
      async stop() {
        stopSync("fast");
        untrack();
      },
    };
  } catch (err) {
    stopSync("immediate");
    untrack();
    throw err;
  }
}
