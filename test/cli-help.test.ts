import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleOptions } from "../scripts/bundle-options.mjs";
import { BIN } from "./support/cli.js";

// `--help` on every command answers from commander alone: no Hookgate module outside the CLI and no heavy
// package (GraphQL, Prisma, PGlite, the SDK, tables) is loaded, which is what keeps it fast. Checked by
// recording every module the process resolves (a resolve hook), not by timing. No server, no database.
// From the build, the process loads files of the CLI's bundle (dist/bundle/, scripts/bundle-options.mjs):
// each stands for the sources and packages esbuild put into it (its metafile, from the same options).

const run = promisify(execFile);
const REGISTER = path.resolve(import.meta.dirname, "support/import-trace/register.mjs");
const HEAVY =
  /\/node_modules\/(graphql|graphql-yoga|graphql-ws|@prisma|@electric-sql|pg|pino|undici|ws|@pothos|cli-table3|picocolors|ajv)\//;
/** Hookgate modules other than the CLI's own (dist/ when built, src/ through tsx otherwise). */
const NOT_CLI = /\/(dist|src)\/(?!cli\/)[^/]/;

const ROOT = path.resolve(import.meta.dirname, "..");
const dir = mkdtempSync(path.join(tmpdir(), "hookgate-help-"));
let traces = 0;
/** file URL of each file of the bundle -> file URLs of the modules in it. */
let bundled = new Map<string, string[]>();

beforeAll(async () => {
  const { metafile = { inputs: {}, outputs: {} } } = await build({
    ...bundleOptions(ROOT, path.join(ROOT, "dist/bundle")),
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
  });
  const url = (f: string) => pathToFileURL(path.join(ROOT, f)).href;
  bundled = new Map(
    Object.entries(metafile.outputs).map(([out, o]) => [url(out), Object.keys(o.inputs).map(url)]),
  );
}, 120_000);

async function help(args: string[]): Promise<{ stdout: string; loaded: string[] }> {
  const trace = path.join(dir, `trace-${traces++}`);
  const { FORCE_COLOR: _, ...env } = process.env;
  const { stdout } = await run(process.execPath, ["--import", REGISTER, BIN, ...args, "--help"], {
    env: { ...env, NO_COLOR: "1", IMPORT_TRACE_FILE: trace },
    timeout: 60_000,
  });
  const urls = readFileSync(trace, "utf8").trim().split("\n");
  return { stdout, loaded: urls.flatMap((u) => bundled.get(u) ?? [u]) };
}

/** The subcommands a help text lists (commander's own `help` left out). */
function commands(helpText: string): string[] {
  const section = helpText.split("\nCommands:\n")[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
}

describe("hookgate --help", { timeout: 180_000 }, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers on every command without loading anything beyond the CLI and commander", async () => {
    const root = await help([]);
    const groups = commands(root.stdout);
    expect(groups).toEqual(
      expect.arrayContaining([
        "event-types",
        "endpoints",
        "events",
        "deliveries",
        "attempts",
        "verify",
        "config",
      ]),
    );
    const paths: string[][] = [];
    for (const group of groups) {
      const text = await help([group]);
      expect(text.stdout).toContain(`Usage: hookgate ${group}`);
      const subs = commands(text.stdout);
      if (subs.length === 0) paths.push([group]);
      for (const sub of subs) paths.push([group, sub]);
    }
    expect(paths).toEqual(
      expect.arrayContaining([
        ["endpoints", "rotate-secret"],
        ["deliveries", "recover"],
        ["attempts", "list"],
        ["event-types", "update"],
      ]),
    );
    for (const p of paths) {
      const { stdout, loaded } = await help(p);
      expect(stdout, p.join(" ")).toContain(`Usage: hookgate ${p.join(" ")}`);
      expect(
        loaded.filter((url) => HEAVY.test(url) || NOT_CLI.test(url)),
        p.join(" "),
      ).toEqual([]);
    }
    // The recorder works: the CLI itself and commander were seen.
    expect(root.loaded.some((url) => url.includes("/node_modules/commander/"))).toBe(true);
    expect(root.loaded.some((url) => /\/(dist|src)\/cli\/index\.(js|ts)$/.test(url))).toBe(true);
  });
});
