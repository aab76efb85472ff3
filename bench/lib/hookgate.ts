/**
 * Starts Hookgate as its own process, the way it runs in production (`node bin/hookgate.js serve` on the
 * compiled build in dist/, NODE_ENV=production, warn-level logs), and samples its memory from /proc.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../postgres.js";
import { type Child, spawnNode } from "./procs.js";
import { nowMs } from "./rpc.js";

export interface HookgateProcess {
  child: Child;
  origin: string;
  graphqlUrl: string;
  wsUrl: string;
  adminKey: string;
  stop(): Promise<void>;
}

export interface HookgateOptions {
  root: string;
  /** PGlite: its data dir. */
  dataDir?: string;
  databaseUrl?: string;
  encryptionKey: string;
  adminKey: string;
  logFile: string;
  /** Extra/overriding HOOKGATE_* variables. */
  env?: Record<string, string>;
  /** Write a V8 CPU profile into this directory when the process exits (`--profile`). */
  cpuProfileDir?: string;
}

export function newSecrets(): { encryptionKey: string; adminKey: string } {
  return {
    encryptionKey: randomBytes(32).toString("base64"),
    adminKey: `hgbench_${randomBytes(24).toString("hex")}`,
  };
}

/**
 * Spawns `hookgate serve [args]` (on a fresh port) without waiting for it: the peer phase times a
 * dispatcher from its spawn to its first delivery.
 */
export async function spawnHookgate(
  o: HookgateOptions,
  args: string[] = [],
): Promise<{ child: Child; port: number; spawnedAt: number }> {
  // Production runs compiled JavaScript: (re)build dist/ if the sources changed (a no-op otherwise), and
  // HOOKGATE_RUNTIME=dist below makes bin/hookgate.js refuse to fall back to tsx on the sources.
  execFileSync(process.execPath, [path.join(o.root, "scripts/build.mjs"), "--quiet"], {
    cwd: o.root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const port = await freePort();
  // The caller's HOOKGATE_* tuning passes through; the bench's own settings win where they must.
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    NODE_ENV: "production",
    HOOKGATE_RUNTIME: "dist",
    HOOKGATE_LOG_LEVEL: process.env.HOOKGATE_LOG_LEVEL ?? "warn",
    HOOKGATE_API_RATE_LIMIT: "0",
    HOOKGATE_ALLOW_INSECURE_URLS: "1",
    HOOKGATE_HOST: "127.0.0.1",
    HOOKGATE_PORT: String(port),
    HOOKGATE_ADMIN_KEY: o.adminKey,
    HOOKGATE_ENCRYPTION_KEY: o.encryptionKey,
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : { HOOKGATE_DATA_DIR: o.dataDir }),
    ...o.env,
  };
  const nodeArgs = o.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfileDir}`] : [];
  const spawnedAt = nowMs();
  const child = spawnNode("hookgate", [...nodeArgs, path.join(o.root, "bin/hookgate.js"), "serve", ...args], {
    env,
    cwd: o.root,
    logFile: o.logFile,
  });
  return { child, port, spawnedAt };
}

export async function startHookgate(o: HookgateOptions): Promise<HookgateProcess> {
  const { child, port } = await spawnHookgate(o);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (true) {
    if (!child.isRunning()) {
      throw new Error(`Hookgate exited during start (code ${await child.exited}):\n${child.logTail()}`);
    }
    try {
      const res = await fetch(`${origin}/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`Hookgate not ready after 180 s:\n${child.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    origin,
    graphqlUrl: `${origin}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    adminKey: o.adminKey,
    async stop() {
      await child.stop(20_000);
    },
  };
}

/** Current and peak resident set size of a process, in MB (Linux /proc; undefined elsewhere). */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}
