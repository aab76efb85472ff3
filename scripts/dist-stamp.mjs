// What decides whether dist/ (the compiled JavaScript) may run: it carries a stamp, the SHA-256 of the
// sources it was compiled from (every .ts file under src/ but the portal page in src/web/, with its path, and the two tsconfig files).
// bin/hookgate.js recomputes the hash at each start (~66 files, 1.4 MB: a few ms) and runs dist/ only
// when the two agree, so an edited, added, deleted or renamed source file never runs as old code.
// Content, not mtimes: a checkout, a copy or a clock change cannot make a stale build look fresh.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** Bump when the build's output format changes (e.g. new compiler options), to invalidate old builds. */
const FORMAT = "1";
export const STAMP_FILE = ".build-stamp.json";
const CONFIGS = ["tsconfig.json", "tsconfig.build.json"];

/** The files the hash covers, relative to root with "/" separators, sorted. */
export function hashedFiles(root) {
  const sources = readdirSync(path.join(root, "src"), { recursive: true })
    .map((f) => `src/${f.split(path.sep).join("/")}`)
    // src/web/ is the portal page: esbuild bundles it into assets/portal/ (scripts/build-web.mjs, checked
    // by test/web-assets.test.ts); tsc does not compile it into dist/.
    .filter((f) => f.endsWith(".ts") && !f.startsWith("src/web/"))
    .sort();
  return [...sources, ...CONFIGS];
}

/** Hash of everything the build compiles, under root (the repository). */
export function sourceHash(root) {
  const hash = createHash("sha256");
  hash.update(`hookgate-build ${FORMAT}\0`);
  for (const f of hashedFiles(root)) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(path.join(root, f)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** The stamp a build wrote into outDir, or undefined (no build, or an unfinished one). */
export function readStamp(outDir) {
  try {
    const stamp = JSON.parse(readFileSync(path.join(outDir, STAMP_FILE), "utf8"));
    return typeof stamp?.sourceHash === "string" ? stamp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * "current" when outDir holds a complete build of the sources as they are now, "stale" when it holds a
 * build of other sources, "missing" when there is no (complete) build.
 */
export function buildState(root, outDir = path.join(root, "dist")) {
  const stamp = readStamp(outDir);
  if (!stamp) return "missing";
  return stamp.sourceHash === sourceHash(root) ? "current" : "stale";
}
