/**
 * A throwaway PostgreSQL cluster, for the tests (durability off: fast) and the benchmark (durable:
 * fsync, synchronous commit and full page writes on, as in production): initdb into a temp dir,
 * start on a free loopback port, stop and delete on stop() (or at process exit at the latest).
 * As root (initdb refuses to run as root) the files belong to the `postgres` user and the server
 * runs through runuser.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
}

export interface ClusterOptions {
  /** Production-like durability (the benchmark) instead of speed (the tests). Default false. */
  durable?: boolean;
  /** Prefix of the temp directory. */
  prefix?: string;
}

export interface TestCluster {
  /** Superuser (postgres, trust auth) URL of the maintenance database. */
  adminUrl: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** initdb and pg_ctl from PATH, else from the newest /usr/lib/postgresql/<v>/bin; undefined if none. */
export function findPostgresBinaries(): PostgresBinaries | undefined {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    if (existsSync(path.join(dir, "initdb")) && existsSync(path.join(dir, "pg_ctl"))) {
      return { initdb: path.join(dir, "initdb"), pgCtl: path.join(dir, "pg_ctl") };
    }
  }
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, "bin", "initdb")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  if (versions.length === 0) return undefined;
  const bin = path.join(base, versions[0], "bin");
  return { initdb: path.join(bin, "initdb"), pgCtl: path.join(bin, "pg_ctl") };
}

/** runuser is in /usr/sbin, which a non-login PATH may lack. */
function runuser(): string {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  const dir = dirs.find((d) => d && existsSync(path.join(d, "runuser")));
  if (!dir)
    throw new Error("running as root needs runuser (util-linux) to start PostgreSQL as user postgres");
  return path.join(dir, "runuser");
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export async function startTestCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const bins = findPostgresBinaries();
  if (!bins) {
    throw new Error(
      "no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL " +
        "(apt-get install -y postgresql) or set HOOKGATE_TEST_DATABASE_URL to a superuser URL of a server",
    );
  }
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), options.prefix ?? "hookgate-pg-"));
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);

  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? [runuser(), ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
    const res = spawnSync(file, argv, { encoding: "utf8", cwd: dir, timeout: 60_000 });
    if (res.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
      throw new Error(
        `${cmd} ${args.join(" ")} failed (${res.status ?? res.signal ?? res.error?.message}):\n${res.stdout}${res.stderr}${log}`,
      );
    }
  };

  let started = false;
  let stopped = false;
  const stopSync = (mode: "fast" | "immediate") => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onExit);
    try {
      // postmaster.pid also covers a start that timed out but left a server running.
      if (started || existsSync(path.join(dataDir, "postmaster.pid"))) {
        run(bins.pgCtl, ["stop", "-D", dataDir, "-m", mode, "-w"]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // Last resort if the runner dies without calling stop(): never leave a server behind.
  const onExit = () => {
    try {
      stopSync("immediate");
    } catch {
      // exiting anyway
    }
  };
  process.on("exit", onExit);

  try {
    run(bins.initdb, [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = [
        `-p ${port}`,
        "-h 127.0.0.1",
        `-k ${dir}`,
        ...(options.durable
          ? [
              "-c fsync=on",
              "-c synchronous_commit=on",
              "-c full_page_writes=on",
              "-c shared_buffers=256MB",
              "-c max_wal_size=2GB",
              // The bench reads per-statement cost and WAL from it (bench/peer-phase.ts).
              "-c shared_preload_libraries=pg_stat_statements",
            ]
          : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
        "-c max_connections=300",
      ].join(" ");
      try {
        run(bins.pgCtl, ["start", "-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", opts]);
        started = true;
        break;
      } catch (err) {
        // Someone may have taken the port between the probe and the start: try another.
        if (attempt >= 3) throw err;
      }
    }
    return {
      adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      port,
      dir,
      stop: async () => stopSync("fast"),
    };
  } catch (err) {
    stopSync("immediate");
    throw err;
  }
}
