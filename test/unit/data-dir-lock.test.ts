import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireDataDirLock, DataDirInUseError } from "../../src/db/data-dir-lock.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "hookgate-lock-"));
  dirs.push(d);
  return d;
}

/** A real other process that stays alive until killed. */
async function otherProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  children.push(child);
  await new Promise((resolve) => child.once("spawn", resolve));
  return child;
}

function procStart(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

function writeLock(dir: string, owner: Record<string, unknown>) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, "hookgate.lock"),
    JSON.stringify({ command: "hookgate serve", port: 4100, host: "127.0.0.1", token: "t0", ...owner }),
  );
}

describe("data directory lock", () => {
  it("is held while open, re-entrant within the process, and removed on the last release", () => {
    const dir = tempDir();
    const a = acquireDataDirLock(dir, { command: "hookgate serve", port: 4001, host: "127.0.0.1" });
    const file = path.join(dir, "hookgate.lock");
    const owner = JSON.parse(readFileSync(file, "utf8"));
    expect(owner).toMatchObject({ pid: process.pid, command: "hookgate serve", port: 4001 });
    const b = acquireDataDirLock(dir); // the same process opening its database
    b.release();
    expect(existsSync(file)).toBe(true);
    a.setPort(4555, "127.0.0.1");
    expect(JSON.parse(readFileSync(file, "utf8")).port).toBe(4555);
    a.release();
    expect(existsSync(file)).toBe(false);
  });

  it("refuses while another live process holds it, naming its pid and port", async () => {
    const dir = tempDir();
    const other = await otherProcess();
    writeLock(dir, { pid: other.pid, procStart: procStart(other.pid!) });
    let err: unknown;
    try {
      acquireDataDirLock(dir, { command: "hookgate serve" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataDirInUseError);
    expect((err as Error).message).toBe(
      `${dir} is in use by hookgate serve (pid ${other.pid}, port 4100): stop it first, or set HOOKGATE_DATA_DIR to another directory`,
    );
    // A command other than serve is told to use the server's API instead.
    expect(() => acquireDataDirLock(dir, { command: "hookgate keys create" })).toThrow(
      `use the running server's API instead (http://127.0.0.1:4100/graphql`,
    );
    // The holder's lock is untouched.
    expect(JSON.parse(readFileSync(path.join(dir, "hookgate.lock"), "utf8")).pid).toBe(other.pid);
  });

  it("takes over the lock of a process that is gone", async () => {
    const dir = tempDir();
    const dead = await otherProcess();
    const pid = dead.pid!;
    dead.kill("SIGKILL");
    await new Promise((resolve) => dead.once("exit", resolve));
    writeLock(dir, { pid });
    const lock = acquireDataDirLock(dir, { command: "hookgate serve" });
    expect(JSON.parse(readFileSync(path.join(dir, "hookgate.lock"), "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("takes over a lock whose pid was reused by another process, or that names this very pid", async () => {
    const dir = tempDir();
    const other = await otherProcess();
    // Alive, but not the process that wrote the lock (its start time differs).
    writeLock(dir, { pid: other.pid, procStart: "1" });
    acquireDataDirLock(dir).release();
    // A container restarted with the same pid as its previous life.
    writeLock(dir, { pid: process.pid, token: "previous-life" });
    acquireDataDirLock(dir).release();
    // A torn or foreign file.
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "hookgate.lock"), "");
    acquireDataDirLock(dir).release();
    expect(existsSync(path.join(dir, "hookgate.lock"))).toBe(false);
  });

  it("never removes a lock that another process took over meanwhile", () => {
    const dir = tempDir();
    const lock = acquireDataDirLock(dir);
    writeLock(dir, { pid: 999_999_999, token: "someone-else" });
    lock.release();
    expect(JSON.parse(readFileSync(path.join(dir, "hookgate.lock"), "utf8")).token).toBe("someone-else");
  });
});
