#!/usr/bin/env node
// Writes the type declarations of the package exports (hookgate/client, hookgate/verify) into dist/
// (tsconfig.exports.json), after scripts/build.mjs compiled the JavaScript. Run by `npm pack` (prepack):
// an installed package carries dist/ with both, while a checkout being edited never needs them.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsc = spawnSync(
  process.execPath,
  [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.exports.json")],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
);
if (tsc.status !== 0) {
  process.stderr.write(`build-types: tsc failed (${tsc.status ?? tsc.signal})\n`);
  process.exit(1);
}
