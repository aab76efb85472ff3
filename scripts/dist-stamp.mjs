// What decides whether dist/ (the compiled JavaScript and the CLI's bundle) may run: it carries a stamp, the
// SHA-256 of the sources it was compiled from (every .ts file under src/ but the portal page in src/web/, with
// its path, the two tsconfig files, the bundle's options and package-lock.json: the bundle carries the
// dependencies' code). bin/hookgate.js checks it at each start and runs dist/ only when the two agree, so an
// edited, added, deleted or renamed source never runs as old code.
// Content decides, not mtimes: a checkout, a copy or a clock change cannot make a stale build look fresh. To
// start without hashing ~1.4 MB each time, the stamp also records each file's size, inode, mtime and ctime
// (nanoseconds) as they were before the hash was taken; when all of them are unchanged, the contents are the
// ones hashed, and the hash is skipped. ctime cannot be set back by a program (unlike mtime: touch, tar, cp -p),
// any write or rename changes it, and a file changed within RACY_MS of the recording (when a write in the same
// clock tick might leave the times equal) is always hashed, as git does with "racily clean" index entries.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Bump when the build's output format changes (e.g. new compiler options), to invalidate old builds. */
const FORMAT = "2";
export const STAMP_FILE = ".build-stamp.json";
const CONFIGS = ["tsconfig.json", "tsconfig.build.json", "scripts/bundle-options.mjs", "package-lock.json"];
/** A file whose mtime or ctime is this close to (or after) the recording is hashed anyway. */
const RACY_MS = 2000;

/** The files the hash covers, relative to root with "/" separators, sorted. */
export function hashedFiles(root) {
  // A walk of its own: readdirSync's { recursive: true } costs ~10 ms more at a process's start (Node 20).
  const sources = [];
  const walk = (dir, rel) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path.join(dir, e.name), f);
      // src/web/ is the portal page: esbuild bundles it into assets/portal/ (scripts/build-web.mjs, checked
      // by test/web-assets.test.ts); tsc does not compile it into dist/.
      else if (f.endsWith(".ts") && !f.startsWith("src/web/")) sources.push(f);
    }
  };
  walk(path.join(root, "src"), "src");
  return [...sources.sort(), ...CONFIGS];
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

/**
 * The files' sizes, inodes and times (a string to compare for equality) and the newest of their times in ms.
 * Taken before the hash, so that a change made meanwhile shows in one of them.
 */
export function sourceStats(root) {
  let newestMs = 0;
  const lines = hashedFiles(root).map((f) => {
    const st = statSync(path.join(root, f), { bigint: true });
    const ms = Math.max(Number(st.mtimeMs), Number(st.ctimeMs));
    if (ms > newestMs) newestMs = ms;
    return `${f} ${st.size} ${st.ino} ${st.mtimeNs} ${st.ctimeNs}`;
  });
  return { key: createHash("sha256").update(lines.join("\n")).digest("hex"), newestMs };
}

/** What a build records: the hash, and the files' stats taken before it (at statAt, ms). */
export function stampFor(root) {
  const statAt = Date.now();
  const stats = sourceStats(root);
  return { sourceHash: sourceHash(root), stats: stats.key, statAt };
}

/** Writes a stamp into outDir at once (renamed into place: a reader sees the old one or the new one). */
export function writeStamp(outDir, stamp) {
  const tmp = path.join(outDir, `${STAMP_FILE}.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify({ ...stamp, builtAt: new Date().toISOString() }, null, 2)}\n`);
  renameSync(tmp, path.join(outDir, STAMP_FILE));
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
  return checkBuild(root, outDir).state;
}

/** buildState, and whether it took the hash (the recorded stats did not vouch for the files). */
export function checkBuild(root, outDir = path.join(root, "dist")) {
  const stamp = readStamp(outDir);
  if (!stamp) return { state: "missing", hashed: false };
  if (typeof stamp.stats === "string" && typeof stamp.statAt === "number") {
    try {
      const now = sourceStats(root);
      if (now.key === stamp.stats && now.newestMs < stamp.statAt - RACY_MS)
        return { state: "current", hashed: false };
    } catch {
      // A file vanished between listing and stat: the hash decides (and reports it).
    }
  }
  return { state: stamp.sourceHash === sourceHash(root) ? "current" : "stale", hashed: true };
}
