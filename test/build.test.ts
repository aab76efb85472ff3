import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleOptions } from "../scripts/bundle-options.mjs";
import {
  buildState,
  checkBuild,
  hashedFiles,
  STAMP_FILE,
  sourceHash,
  stampFor,
  writeStamp,
} from "../scripts/dist-stamp.mjs";
import { configTableMarkdown } from "../src/config.js";
import { readMigrations } from "../src/db/migrate.js";
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
      .filter((f) => f !== STAMP_FILE && path.extname(f) !== "" && !f.startsWith("bundle/"))
      .map((f) => `src/${f.replace(/\.(m|c)?js$/, ".$1ts")}`)
      .sort();
    const hashed = hashedFiles(ROOT).filter((f) => f.startsWith("src/"));
    // A source the hash missed could change without making the build stale; a compiled file without a
    // source would be left over from something else.
    expect(compiled).toEqual(hashed);
  });

  it("a build that finds itself current records the stats again, so that starts skip the hash", async () => {
    const stamp = JSON.parse(readFileSync(path.join(OUT, STAMP_FILE), "utf8"));
    // As if the sources had been touched (a checkout) since: the stats no longer vouch, the hash decides.
    writeStamp(OUT, { ...stamp, stats: "0".repeat(64) });
    expect(checkBuild(ROOT, OUT)).toEqual({ state: "current", hashed: true });
    await node(["scripts/build.mjs", "--quiet", "--out-dir", OUT]);
    expect(checkBuild(ROOT, OUT)).toEqual({ state: "current", hashed: false });
  });

  it("bundles the CLI from hashed sources and installed packages only", async () => {
    const { metafile = { inputs: {}, outputs: {} } } = await build({
      ...bundleOptions(ROOT, path.join(OUT, "bundle")),
      absWorkingDir: ROOT,
      write: false,
      metafile: true,
    });
    const inputs = Object.keys(metafile.inputs).filter((f) => !f.startsWith("slim-undici:"));
    const hashed = new Set(hashedFiles(ROOT));
    // A bundled source the hash missed could change without making the build stale; the packages are
    // covered by package-lock.json, which is hashed.
    expect(inputs.filter((f) => !hashed.has(f) && !f.startsWith("node_modules/"))).toEqual([]);
    expect(hashed).toContain("package-lock.json");
    expect(inputs).toContain("src/cli/index.ts");
    // What the bundle leaves to node_modules is loaded from there, never bundled too.
    expect(
      inputs.filter((f) =>
        /^node_modules\/(@prisma\/client|@electric-sql\/pglite|@graphql-yoga\/render-graphiql)\//.test(f),
      ),
    ).toEqual([]);
    expect(
      Object.keys(metafile.outputs)
        .map((f) => path.relative(OUT, path.join(ROOT, f)))
        .sort(),
    ).toEqual(
      readdirSync(path.join(OUT, "bundle"))
        .map((f) => `bundle/${f}`)
        .sort(),
    );
  });

  it("`config --markdown` prints what the sources print", async () => {
    expect(await node([path.join(OUT, "bundle/cli.js"), "config", "--markdown"])).toBe(
      `${configTableMarkdown()}\n`,
    );
  });

  it("`schema print` prints the sources' schema", async () => {
    expect(await node([path.join(OUT, "bundle/cli.js"), "schema", "print"])).toBe(printHookgateSchema());
  });

  it("finds package.json and the migrations from its own location, and PGlite in node_modules", async () => {
    const { HOOKGATE_VERSION } = await import("../src/version.js");
    expect((await node([path.join(OUT, "bundle/cli.js"), "--version"])).trim()).toBe(HOOKGATE_VERSION);
    const dataDir = mkdtempSync(path.join(tmpdir(), "hookgate-build-"));
    try {
      const { stdout } = await run(process.execPath, [path.join(OUT, "bundle/cli.js"), "migrate"], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: "", HOOKGATE_DATA_DIR: dataDir },
        timeout: 120_000,
      });
      expect(stdout).toContain(
        `applied: ${readMigrations()
          .map((m) => m.name)
          .join(", ")}`,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
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
    mkdirSync(path.join(root, "scripts"), { recursive: true });
    writeFileSync(path.join(root, "scripts/bundle-options.mjs"), "export {};\n");
    writeFileSync(path.join(root, "package-lock.json"), '{ "lockfileVersion": 3 }\n');
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
    [
      "an edited bundle configuration",
      () => writeFileSync(path.join(root, "scripts/bundle-options.mjs"), ""),
    ],
    [
      "another package-lock.json (the bundle carries the dependencies)",
      () => writeFileSync(path.join(root, "package-lock.json"), '{ "lockfileVersion": 2 }\n'),
    ],
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

  describe("recorded stats", () => {
    /** A stamp as a build records it, taken `ago` ms after the files were last written. */
    const stampTaken = (after: number, sourceHashOverride?: string) => {
      const stamp = stampFor(root);
      writeStamp(path.join(root, "dist"), {
        ...stamp,
        statAt: stamp.statAt + after,
        ...(sourceHashOverride ? { sourceHash: sourceHashOverride } : {}),
      });
    };

    it("vouch for unchanged files, so the hash is not taken", () => {
      reset();
      stampTaken(10_000);
      expect(checkBuild(root)).toEqual({ state: "current", hashed: false });
      // Proof that the hash was skipped: a stamp whose hash is wrong but whose stats match is believed.
      stampTaken(10_000, "0".repeat(64));
      expect(checkBuild(root)).toEqual({ state: "current", hashed: false });
    });

    it("do not vouch for files written just before the stamp (same clock tick): those are hashed", () => {
      reset();
      stampTaken(0, "0".repeat(64));
      expect(checkBuild(root)).toEqual({ state: "stale", hashed: true });
    });

    it("do not hide a same-size edit whose mtime was set back (cp -p, touch -r, tar)", () => {
      reset();
      const file = path.join(root, "src/db/x.ts");
      const then = new Date("2026-01-01T00:00:00Z");
      utimesSync(file, then, then);
      stampTaken(10_000);
      const before = statSync(file, { bigint: true });
      writeFileSync(file, "export const b = 9;\n"); // same length
      utimesSync(file, then, then);
      const after = statSync(file, { bigint: true });
      expect([after.size, after.ino, after.mtimeNs]).toEqual([before.size, before.ino, before.mtimeNs]);
      // Only the ctime (which no program can set) tells.
      expect(checkBuild(root)).toEqual({ state: "stale", hashed: true });
    });
  });
});
