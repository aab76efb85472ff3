import { randomBytes } from "node:crypto";
import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";

/**
 * One owner per embedded data directory. PGlite is PostgreSQL inside one process: a second
 * process opening the same files gets a private copy of the database in its own memory, and
 * whatever it writes is lost (or worse, overwrites the other's) when either one checkpoints. So
 * whoever opens `HOOKGATE_DATA_DIR` first holds `<dir>/hookgate.lock` (pid, command, port) until it
 * closes, and everyone else is refused with a line naming the holder.
 *
 * The lock is a file created with link(2), which is atomic and fails when the name exists. A lock
 * whose process is gone (SIGKILL, power loss, a container restarted with the same pid) is stale and
 * is taken over; take-overs are serialised by a mkdir(2) mutex so two starters cannot both win.
 */

export interface DataDirOwner {
  pid: number;
  /** What holds it: "hookgate serve", "hookgate migrate", ... */
  command: string;
  /** The HTTP port of a serving process; null while not yet bound or for commands without one. */
  port: number | null;
  host: string | null;
  startedAt: string;
  /** Linux: boot id and process start time, so that a reused pid is not taken for the holder. */
  bootId?: string;
  procStart?: string;
  token: string;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirOwner,
    command: string,
  ) {
    const where = holder.port != null ? `pid ${holder.pid}, port ${holder.port}` : `pid ${holder.pid}`;
    const advice =
      command === "hookgate serve"
        ? "stop it first, or set HOOKGATE_DATA_DIR to another directory"
        : holder.port != null
          ? `changes made here would never reach it: use the running server's API instead (http://${hostForUrl(holder.host)}:${holder.port}/graphql, e.g. the createApiKey mutation for a key), or stop it first`
          : "wait for it to finish";
    super(`${dataDir} is in use by ${holder.command} (${where}): ${advice}`);
    this.name = "DataDirInUseError";
  }
}

function hostForUrl(host: string | null): string {
  if (!host || host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export interface DataDirLock {
  readonly file: string;
  /** Records the bound HTTP port (serve binds before it opens the database). */
  setPort(port: number, host: string): void;
  release(): void;
}

const LOCK_NAME = "hookgate.lock";

/** Locks this process holds, by directory, with a count: one process may open its own dir twice. */
const held = new Map<string, { owner: DataDirOwner; count: number }>();

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot). */
function procStart(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) is in parentheses and may contain spaces: count from after it.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

function bootId(): string | undefined {
  return readOptional("/proc/sys/kernel/random/boot_id");
}

/** Whether the process recorded in a lock still runs (and is the same process, not a reused pid). */
function ownerAlive(owner: DataDirOwner): boolean {
  // Our own pid in a lock we do not hold (see `held`): a previous life of a container's pid 1, say.
  if (owner.pid === process.pid || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (owner.bootId && bootId() && owner.bootId !== bootId()) return false;
  const start = procStart(owner.pid);
  if (owner.procStart && start && owner.procStart !== start) return false;
  return true;
}

function readOwner(file: string): DataDirOwner | undefined {
  const text = readOptional(file);
  if (text === undefined) return undefined;
  try {
    const owner = JSON.parse(text) as DataDirOwner;
    if (typeof owner.pid === "number") return owner;
  } catch {
    // A torn or foreign file: treated as a lock of a process that no longer runs.
  }
  return { pid: -1, command: "unknown", port: null, host: null, startedAt: "", token: "" };
}

function defaultCommand(): string {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  return ["hookgate", ...args.slice(0, 2)].join(" ");
}

function writeAtomically(file: string, owner: DataDirOwner): void {
  const tmp = `${file}.${process.pid}.${owner.token}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * Takes the data directory's lock or throws DataDirInUseError naming the live holder. Synchronous
 * on purpose: nothing else may touch the directory before it returns.
 */
export function acquireDataDirLock(
  dataDir: string,
  opts: { command?: string; port?: number | null; host?: string | null } = {},
): DataDirLock {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_NAME);
  const mine = held.get(file);
  if (mine) {
    mine.count += 1;
    return handle(file, mine.owner);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const command = opts.command ?? defaultCommand();
  const owner: DataDirOwner = {
    pid: process.pid,
    command,
    port: opts.port ?? null,
    host: opts.host ?? null,
    startedAt: new Date().toISOString(),
    bootId: bootId(),
    procStart: procStart(process.pid),
    token: randomBytes(8).toString("hex"),
  };
  const tmp = `${file}.${process.pid}.${owner.token}.new`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readOwner(file);
      if (holder && ownerAlive(holder)) {
        throw new DataDirInUseError(dir, holder, command);
      }
      if (attempt >= 50) throw new Error(`could not take over the stale lock ${file}`);
      takeOverStale(file, holder);
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  held.set(file, { owner, count: 1 });
  return handle(file, owner);
}

/** Removes a stale lock, under a mutex so that two starters do not both remove and re-create it. */
function takeOverStale(file: string, stale: DataDirOwner | undefined): void {
  const mutex = `${file}.takeover`;
  try {
    mkdirSync(mutex);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // Someone else is taking over; a mutex left by a crash mid-take-over expires after 10 s.
    try {
      if (Date.now() - statSync(mutex).mtimeMs > 10_000) rmdirSync(mutex);
    } catch {
      // gone meanwhile
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    return;
  }
  try {
    // Re-read under the mutex: only the very lock judged stale may be removed.
    const now = readOwner(file);
    if (now && stale && now.token === stale.token && now.pid === stale.pid) unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  } finally {
    rmdirSync(mutex);
  }
}

function handle(file: string, owner: DataDirOwner): DataDirLock {
  let released = false;
  return {
    file,
    setPort(port, host) {
      owner.port = port;
      owner.host = host;
      writeAtomically(file, owner);
    },
    release() {
      if (released) return;
      released = true;
      const entry = held.get(file);
      if (!entry) return;
      entry.count -= 1;
      if (entry.count > 0) return;
      held.delete(file);
      // Only our own lock: never remove one that someone took over after judging us dead.
      if (readOwner(file)?.token === owner.token) unlinkSync(file);
    },
  };
}
