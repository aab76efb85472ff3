import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildState, hashedFiles, STAMP_FILE, sourceHash } from "../scripts/dist-stamp.mjs";
import { configTableMarkdown } from "../src/config.js";
import { MIGRATIONS_DIR } from "../src/db/migrate.js";
import { printHookgateSchema } from "../src/graphql/index.js";

// Production runs the compiled build (dist/) whenever its stamp matches the sources (bin/hookgate.js).
// These tests build into a directory of their own (never the shared dist/) and check that the compiled
// CLI does what the sources do, and that the stamp notices every change that would make a build stale.

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
// Inside the repository (dist.tmp-* is gitignored), as dist/ is: compiled modules find node_modules,
// package.json and prisma/migrations relative to their own location.
const OUT = path.join(ROOT, `dist.tmp-test-${process.pid}`);

async function node(args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production" };
  delete env.DATABASE_URL;
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, env, timeout: 60_000 });
  return stdout;
}

describe("compiled build", () => {
  beforeAll(async () => {
    await node(["scripts/build.mjs", "--force", "--quiet", "--out-dir", OUT]);
  }, 120_000);
  afterAll(() => {
    rmSync(OUT, { recursive: true, force: true });
  });

  it("is stamped as a build of the sources as they are now", () => {
    expect(buildState(ROOT, OUT)).toBe("current");
  });

  it("compiles exactly the files the stamp covers", () => {
    const compiled = (readdirSync(OUT, { recursive: true }) as string[])
      .map((f) => f.split(path.sep).join("/"))
      .filter((f) => f !== STAMP_FILE && path.extname(f) !== "")
      .map((f) => `src/${f.replace(/\.(m|c)?js$/, ".$1ts")}`)
      .sort();
    const hashed = hashedFiles(ROOT).filter((f) => f.startsWith("src/"));
    // A source the hash missed could change without making the build stale; a compiled file without a
    // source would be left over from something else.
    expect(compiled).toEqual(hashed);
  });

  it("`config --markdown` prints what the sources print", async () => {
    expect(await node([path.join(OUT, "cli/index.js"), "config", "--markdown"])).toBe(
      `${configTableMarkdown()}\n`,
    );
  });

  it("`schema print` prints the sources' schema", async () => {
    expect(await node([path.join(OUT, "cli/index.js"), "schema", "print"])).toBe(printHookgateSchema());
  });

  it("finds the migrations and package.json from its own location", async () => {
    const out = await node([
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(`${OUT}/db/migrate.js`)});
       const v = await import(${JSON.stringify(`${OUT}/version.js`)});
       console.log(JSON.stringify([m.MIGRATIONS_DIR, v.HOOKGATE_VERSION]));`,
    ]);
    const { HOOKGATE_VERSION } = await import("../src/version.js");
    expect(JSON.parse(out)).toEqual([MIGRATIONS_DIR, HOOKGATE_VERSION]);
  });
});

describe("build stamp", () => {
  let root: string;
  const stamp = () =>
    writeFileSync(path.join(root, "dist", STAMP_FILE), JSON.stringify({ sourceHash: sourceHash(root) }));
  /** The same sources every time, so the first stamp is current again. */
  const reset = () => {
    rmSync(path.join(root, "src"), { recursive: true, force: true });
    mkdirSync(path.join(root, "src/db"), { recursive: true });
    writeFileSync(path.join(root, "src/cli.ts"), "export const a = 1;\n");
    writeFileSync(path.join(root, "src/db/x.ts"), "export const b = 2;\n");
    writeFileSync(path.join(root, "tsconfig.json"), "{}\n");
    writeFileSync(path.join(root, "tsconfig.build.json"), "{}\n");
  };
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), "hookgate-stamp-"));
    mkdirSync(path.join(root, "dist"));
    reset();
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("is missing without a stamp, current right after one", () => {
    expect(buildState(root)).toBe("missing");
    stamp();
    expect(buildState(root)).toBe("current");
  });

  it.each([
    ["an edited source", () => writeFileSync(path.join(root, "src/db/x.ts"), "export const b = 3;\n")],
    ["an added source", () => writeFileSync(path.join(root, "src/db/y.ts"), "")],
    ["a deleted source", () => unlinkSync(path.join(root, "src/db/x.ts"))],
    [
      "a renamed source",
      () => {
        writeFileSync(path.join(root, "src/db/z.ts"), "export const b = 2;\n");
        unlinkSync(path.join(root, "src/db/x.ts"));
      },
    ],
    ["an edited tsconfig.build.json", () => writeFileSync(path.join(root, "tsconfig.build.json"), "{ }\n")],
  ])("is stale after %s", (_name, change) => {
    reset();
    expect(buildState(root)).toBe("current");
    change();
    expect(buildState(root)).toBe("stale");
  });

  it("ignores files that are not compiled", () => {
    reset();
    writeFileSync(path.join(root, "src/notes.graphql"), "# not TypeScript\n");
    expect(buildState(root)).toBe("current");
  });
});
