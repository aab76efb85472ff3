/**
 * Runs the CLI as a user does: `node bin/hookgate.js ...` as a child process, with the server's URL and a
 * key in HOOKGATE_URL / HOOKGATE_API_KEY. Output is plain whatever the runner's terminal (NO_COLOR, no
 * FORCE_COLOR: picocolors colours output when CI is set). Every run is bounded (`timeout`).
 */
import { execFile } from "node:child_process";
import path from "node:path";

export const BIN = path.resolve(import.meta.dirname, "../../bin/hookgate.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** The API key (default: the runner's); "" runs without one. */
  key?: string;
  /** Written to the CLI's stdin, which is then closed. */
  stdin?: string;
  /** More environment (overrides the defaults). */
  env?: Record<string, string>;
  /**
   * Runs the CLI on a pseudo-terminal (util-linux `script`), so that stdout and stderr are TTYs; the
   * two arrive merged in `stdout`.
   */
  tty?: boolean;
  timeoutMs?: number;
}

export function cliEnv(url: string, key: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _, HOOKGATE_URL: _u, HOOKGATE_API_KEY: _k, ...rest } = process.env;
  return { ...rest, NO_COLOR: "1", HOOKGATE_URL: url, HOOKGATE_API_KEY: key, ...extra };
}

/** A runner bound to one server and default key. */
export function cliRunner(url: string, defaultKey: string) {
  return (args: string[], opts: CliRunOptions = {}): Promise<CliResult> =>
    runCli(args, cliEnv(url, opts.key ?? defaultKey, opts.env), opts);
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: CliRunOptions = {}): Promise<CliResult> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const [file, argv] = opts.tty
    ? ["script", ["-qefc", quoted, "/dev/null"]]
    : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      { env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : -1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin!.end(opts.stdin ?? "");
  });
}

/** Parses a --json run's stdout, failing with the run's stderr when it exited non-zero. */
export function json<T = any>(res: CliResult): T {
  if (res.code !== 0) throw new Error(`CLI exited ${res.code}: ${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}
