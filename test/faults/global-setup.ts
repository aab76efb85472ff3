import { execFileSync } from "node:child_process";
import path from "node:path";

/**
 * The processes under test run the compiled build, as in production: build dist/ if the sources
 * changed (a no-op otherwise), so that bin/hookgate.js does not fall back to tsx.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..");
  execFileSync(process.execPath, [path.join(root, "scripts/build.mjs"), "--quiet"], {
    cwd: root,
    stdio: "inherit",
  });
}
