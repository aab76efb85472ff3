import type { Command } from "commander";

interface ConfigOption {
  env: string;
  default: string;
  parse: (raw: string, env: Record<string, string | undefined>) => unknown;
}

interface Setting {
  variable: string;
  value: string;
  source: "environment" | "default" | "derived";
  error?: string;
}

/** Variables whose values are never printed (a database URL only loses its password). */
const SECRET = new Set(["HOOKGATE_ADMIN_KEY", "HOOKGATE_ENCRYPTION_KEY"]);

function mask(variable: string, raw: string): string {
  if (raw === "") return raw;
  if (SECRET.has(variable)) return `******** (set, ${raw.length} characters)`;
  if (variable === "DATABASE_URL") {
    try {
      const url = new URL(raw);
      if (url.password) url.password = "********";
      return url.toString();
    } catch {
      return "******** (not a URL)";
    }
  }
  return raw;
}

/** What a parsed value looks like in the table: durations and lists as the README writes them. */
function show(value: unknown): string {
  if (value === undefined || Buffer.isBuffer(value)) return "";
  if (Array.isArray(value)) return value.join(",");
  return String(value);
}

/**
 * The value each option has in this environment and where it comes from: the environment, the documented
 * default, or derived from other settings (a default of "" that the parser fills in, e.g. the lease from
 * the attempt timeout). Secrets are masked. A bad value is reported in place, naming the variable.
 */
function settings(options: readonly ConfigOption[], env: NodeJS.ProcessEnv): Setting[] {
  return options.map((opt) => {
    const fromEnv = env[opt.env];
    const raw = fromEnv ?? opt.default;
    let parsed: unknown;
    try {
      parsed = opt.parse(raw, env);
    } catch (err) {
      const source = fromEnv !== undefined ? "environment" : "default";
      return { variable: opt.env, value: mask(opt.env, raw), source, error: (err as Error).message };
    }
    if (fromEnv !== undefined)
      return { variable: opt.env, value: mask(opt.env, fromEnv), source: "environment" };
    if (opt.default !== "") return { variable: opt.env, value: opt.default, source: "default" };
    // No default of its own: derived from other settings (the host from DATABASE_URL, the lease from the
    // attempt timeout), or unset. Secrets never come here (they have no value unless set).
    const value = show(parsed);
    if (value !== "") return { variable: opt.env, value, source: "derived" };
    const unset =
      opt.env === "HOOKGATE_ENCRYPTION_KEY" ? "(unset: embedded mode keeps one in the data dir)" : "(unset)";
    return { variable: opt.env, value: unset, source: "default" };
  });
}

export function registerConfig(program: Command): void {
  program
    .command("config")
    .description("the configuration in effect here (environment or default, secrets masked)")
    .option(
      "--markdown",
      "print the documentation table instead (variables, defaults, meaning), as in the README",
    )
    .option("--json", "print JSON for scripts instead of a table")
    .action(async (opts: { markdown?: boolean; json?: boolean }) => {
      const { configTableMarkdown, OPTIONS } = await import("../config.js");
      if (opts.markdown) {
        process.stdout.write(`${configTableMarkdown()}\n`);
        return;
      }
      const rows = settings(OPTIONS as readonly ConfigOption[], process.env);
      const { printRows } = await import("./client.js");
      await printRows(
        opts,
        rows.map((r) => ({ ...r, value: r.error ? `${r.value} (invalid: ${r.error})` : r.value })),
        ["variable", "value", "source"],
        rows,
      );
      const bad = rows.filter((r) => r.error);
      if (bad.length > 0) {
        process.stderr.write(
          `hookgate: invalid configuration: ${bad.map((r) => `${r.variable}: ${r.error}`).join("; ")}\n`,
        );
        process.exitCode = 1;
      }
    });
}
