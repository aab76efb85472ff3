#!/usr/bin/env node
// npm install / npm ci: in a checkout, generate the Prisma client and compile src/ to dist/. Installed as a
// package (from a tarball or a registry) there is no src/: dist/ came prebuilt with it and there is nothing to do.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(path.join(root, "src"))) process.exit(0);
for (const args of [["scripts/generate.mjs", "--prisma-only"], ["scripts/build.mjs"]]) {
  const step = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (step.status !== 0) process.exit(step.status ?? 1);
}
