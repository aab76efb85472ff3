#!/usr/bin/env node
// Compiles src/ to dist/ (tsconfig.build.json) and bundles the CLI into dist/bundle/ (esbuild,
// scripts/bundle-options.mjs), the JavaScript that production runs: Node 20 cannot run TypeScript itself,
// running the sources through tsx costs memory and start time, and loading one bundle instead of hundreds of
// modules is most of a dispatcher's start-up (see README: "How Hookgate runs"). Runs at install
// (postinstall), before `npm start` (prestart) and before the benchmark; it does nothing when dist/ is
// already a build of the current sources (scripts/dist-stamp.mjs).
//
//   node scripts/build.mjs [--force] [--out-dir DIR] [--quiet]
//
// Type errors do not stop the build (--noCheck: `npm run typecheck` and `npm test` check types, and the
// tsx fallback does not check them either); syntax errors and unresolvable options do. The new build is
// written beside dist/ and swapped in by renames, so a process starting meanwhile sees either a complete
// build or none (and then falls back to the sources), never half of one.
import { spawnSync } from "node:child_process";
import { existsSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { bundleOptions } from "./bundle-options.mjs";
import { checkBuild, readStamp, stampFor, writeStamp } from "./dist-stamp.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    force: { type: "boolean", default: false },
    "out-dir": { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});
const log = (msg) => {
  if (!args.quiet) process.stderr.write(`build: ${msg}\n`);
};

const dist = path.join(root, "dist");
const target = args["out-dir"] ? path.resolve(args["out-dir"]) : dist;

const existing = args.force ? undefined : checkBuild(root, target);
if (existing?.state === "current") {
  if (existing.hashed) {
    // Current, but the recorded stats no longer vouch for the files (a checkout touched them, or they were
    // edited just before the last build): record them again, so that starts skip the hash.
    const stamp = stampFor(root);
    if (stamp.sourceHash === readStamp(target)?.sourceHash) writeStamp(target, stamp);
  }
  log(`${path.relative(root, target) || target} is up to date`);
  process.exit(0);
}

// Stamp first (stats, then the hash): if a source changes while the compiler runs, the stamp names the
// older content and the build counts as stale, never the other way round.
const stamp = stampFor(root);
const hash = stamp.sourceHash;
const started = Date.now();
const tmp = target === dist ? path.join(root, `dist.tmp-${process.pid}`) : target;
rmSync(tmp, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [
    path.join(root, "node_modules/typescript/bin/tsc"),
    "-p",
    path.join(root, "tsconfig.build.json"),
    "--outDir",
    tmp,
    "--noCheck",
  ],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
);
if (tsc.status !== 0 || !existsSync(path.join(tmp, "cli/index.js"))) {
  if (tmp !== target) rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`build: tsc failed (${tsc.status ?? tsc.signal ?? tsc.error?.message})\n`);
  process.exit(1);
}
// The CLI as one bundle with its chunks (scripts/bundle-options.mjs), which bin/hookgate.js runs; tsc's
// modules remain the package exports (hookgate/client, hookgate/verify).
try {
  await build(bundleOptions(root, path.join(tmp, "bundle")));
} catch (err) {
  if (tmp !== target) rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`build: esbuild failed (${err.message})\n`);
  process.exit(1);
}
writeStamp(tmp, stamp);

if (tmp !== target) {
  // Swap: dist -> dist.old-PID, dist.tmp-PID -> dist. A concurrent build may win the race; then its
  // result is used if it is a build of the same sources.
  const old = path.join(root, `dist.old-${process.pid}`);
  try {
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(tmp, dist);
  } catch (err) {
    if (readStamp(dist)?.sourceHash !== hash) {
      rmSync(tmp, { recursive: true, force: true });
      process.stderr.write(`build: could not move the build into dist/: ${err.message}\n`);
      process.exit(1);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}
log(`compiled src/ to ${path.relative(root, target) || target} in ${Date.now() - started} ms`);
