/**
 * Every process and server the benchmark starts is registered here, so that a normal end, an error,
 * Ctrl-C or SIGTERM all stop them. `exit` handlers can only run synchronous code, so each registration
 * carries a synchronous last-resort `kill` beside its graceful async `stop`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";

interface Resource {
  name: string;
  stop: () => Promise<void>;
  kill: () => void;
}

const resources: Resource[] = [];
let installed = false;

/** Registers a resource; returns a function that unregisters it (call after it was stopped). */
export function track(resource: Resource): () => void {
  installSignalHandlers();
  resources.push(resource);
  return () => {
    const i = resources.indexOf(resource);
    if (i >= 0) resources.splice(i, 1);
  };
}

/** Stops everything still registered, newest first. Never throws. */
export async function stopAll(): Promise<void> {
  while (resources.length > 0) {
    const r = resources.pop()!;
    try {
      await r.stop();
    } catch (err) {
      console.error(`bench: stopping ${r.name} failed: ${(err as Error).message}`);
      try {
        r.kill();
      } catch {
        // nothing more to do
      }
    }
  }
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    for (const r of resources.reverse()) {
      try {
        r.kill();
      } catch {
        // exiting anyway
      }
    }
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    console.error(`\nbench: ${signal}, stopping everything it started...`);
    stopAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after graceMs. Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last bytes of its log file (for error messages). */
  logTail(bytes?: number): string;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr go to this file. */
  logFile: string;
  /** Open an IPC channel (child_process.fork-like) for bench/lib/rpc.ts. */
  ipc?: boolean;
}

/** Spawns `node <args>`, tracked for cleanup. */
export function spawnNode(name: string, args: string[], opts: SpawnOptions): Child {
  const log = createWriteStream(opts.logFile, { flags: "a" });
  const proc = spawn(process.execPath, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe", ...(opts.ipc ? (["ipc"] as const) : [])],
  });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    proc.once("exit", (code, signal) => {
      running = false;
      resolve(code ?? signal ?? "unknown");
    });
    proc.once("error", (err) => {
      running = false;
      log.write(`spawn error: ${err.message}\n`);
      resolve("spawn-error");
    });
  });
  exited.finally(() => setTimeout(() => log.end(), 50));
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  const child: Child = {
    name,
    process: proc,
    pid: proc.pid,
    exited,
    isRunning: () => running,
    async stop(graceMs = 15_000) {
      if (running) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => {
          if (running) proc.kill("SIGKILL");
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      untrack();
    },
    logTail(bytes = 3000) {
      try {
        const text = readFileSync(opts.logFile, "utf8");
        return text.slice(-bytes);
      } catch {
        return "";
      }
    },
  };
  const untrack = track({
    name,
    stop: () => child.stop(),
    kill: () => {
      if (running) proc.kill("SIGKILL");
    },
  });
  return child;
}
