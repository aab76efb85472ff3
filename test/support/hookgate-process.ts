/**
 * A real `hookgate serve` child process (bin/hookgate.js), for tests that need what only a process has:
 * environment read at start (NODE_EXTRA_CA_CERTS), signals (SIGTERM, SIGKILL), a crash. Every wait is
 * bounded; `stop()` ends it (SIGTERM, then SIGKILL) and is safe to call twice.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface HookgateProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT, once listening. */
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null after a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** POST a GraphQL operation with the given key; returns the parsed body. */
  gql<T = any>(
    key: string,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ data: T; errors?: any[] }>;
  /** SIGTERM (then SIGKILL after `graceMs`); resolves once the process has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startHookgateProcess(
  env: Record<string, string>,
  opts: { role?: "api" | "dispatcher" | "all"; startTimeoutMs?: number } = {},
): Promise<HookgateProcess> {
  const child = spawn(process.execPath, ["bin/hookgate.js", "serve", "--role", opts.role ?? "all"], {
    cwd: ROOT,
    // Log level info at least: the "listening" line is how the url is learnt.
    env: {
      ...process.env,
      HOOKGATE_PORT: "0",
      HOOKGATE_HOST: "127.0.0.1",
      ...env,
      HOOKGATE_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let url: string | undefined;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 150_000);
  while (!url) {
    url = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/graphql"/.exec(out)?.[1];
    if (url) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill("SIGKILL");
      throw new Error(
        `hookgate serve did not start (exit ${child.exitCode}):\n${err}\n${out}`.slice(0, 4000),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = url;
  return {
    child,
    url: base,
    stdout: () => out,
    stderr: () => err,
    exited,
    async gql(key, query, variables) {
      const res = await fetch(`${base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data: any; errors?: any[] };
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    },
  };
}
