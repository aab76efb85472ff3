/**
 * Shutdown under supervisors: SIGTERM or SIGINT delivered to `npm start`, to `hookgate serve`, or to
 * the whole process group all lead to the same graceful stop (a "shutting down" line, the database
 * closed and the data directory's lock released, exit 0), and no Hookgate process is left behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/postgres-cluster.js";
import { FAULT_ENV, ROOT, until } from "./harness.js";

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hookgatePid: number;
  dataDir: string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `command` in a process group of its own (as a supervisor would) and waits until it serves. */
async function start(command: string, args: string[]): Promise<Started> {
  const parent = mkdtempSync(path.join(tmpdir(), "hookgate-supervised-"));
  dirs.push(parent);
  const dataDir = path.join(parent, "data");
  const port = await freePort();
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, ...FAULT_ENV, HOOKGATE_PORT: String(port), HOOKGATE_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const started = await until(
    "Hookgate started",
    () => {
      if (child.exitCode !== null) throw new Error(`exited during start:\n${out}`);
      return /"msg":"Hookgate started"/.test(out) ? out : undefined;
    },
    180_000,
  );
  const line = started!.split("\n").find((l) => l.includes('"msg":"Hookgate started"'))!;
  const hookgatePid = JSON.parse(line).pid as number;
  expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
  return { child, output: () => out, exited, hookgatePid, dataDir };
}

async function expectGracefulStop(s: Started) {
  const { code, signal } = await s.exited;
  expect({ code, signal }, s.output()).toEqual({ code: 0, signal: null });
  expect(s.output()).toMatch(/"msg":"shutting down"/);
  // The Hookgate process itself is gone (not orphaned), and it closed its database cleanly.
  await until("hookgate process gone", () => !alive(s.hookgatePid), 10_000);
  expect(existsSync(path.join(s.dataDir, "hookgate.lock"))).toBe(false);
  expect(s.output()).not.toMatch(/second signal/);
}

describe("shutdown under supervisors", () => {
  it("SIGTERM to `npm start` stops Hookgate gracefully and npm exits 0 (no orphan)", async () => {
    const s = await start("npm", ["start", "--silent"]);
    expect(s.hookgatePid).not.toBe(s.child.pid);
    s.child.kill("SIGTERM");
    await expectGracefulStop(s);
  });

  it("SIGTERM to the whole process group of `npm start` is one graceful stop, not two", async () => {
    const s = await start("npm", ["start", "--silent"]);
    process.kill(-s.child.pid!, "SIGTERM");
    await expectGracefulStop(s);
  });

  it("SIGINT to `hookgate serve` (Ctrl-C) stops it gracefully", async () => {
    const s = await start(process.execPath, ["bin/hookgate.js", "serve"]);
    expect(s.hookgatePid).toBe(s.child.pid);
    s.child.kill("SIGINT");
    await expectGracefulStop(s);
  });

  it("SIGTERM to the process group of `hookgate serve` stops it gracefully", async () => {
    const s = await start(process.execPath, ["bin/hookgate.js", "serve", "--role", "dispatcher"]);
    process.kill(-s.child.pid!, "SIGTERM");
    await expectGracefulStop(s);
  });
});
