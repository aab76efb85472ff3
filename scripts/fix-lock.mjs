#!/usr/bin/env node
// Run after `npm install` changes package-lock.json.
//
// @biomejs/biome lists one optional package per platform. The registry these machines reach
// serves only the linux-x64 one, so `npm install` leaves the others out of the lock, and then
// `npm ci` (CI, fresh clones) refuses the lock as out of sync with package.json. This adds lock
// entries for the missing platform packages; npm ci skips them by os/cpu/libc, so they need no
// tarball or integrity. Idempotent.
import { readFileSync, writeFileSync } from "node:fs";

const file = "package-lock.json";
const lock = JSON.parse(readFileSync(file, "utf8"));
const pkgs = lock.packages;
const biome = pkgs["node_modules/@biomejs/biome"];
if (!biome) process.exit(0);
const platforms = {
  "android-arm64": ["android", "arm64"],
  "android-x64": ["android", "x64"],
  "darwin-arm64": ["darwin", "arm64"],
  "darwin-x64": ["darwin", "x64"],
  "linux-arm64": ["linux", "arm64", "glibc"],
  "linux-x64": ["linux", "x64", "glibc"],
  "linux-arm64-musl": ["linux", "arm64", "musl"],
  "linux-x64-musl": ["linux", "x64", "musl"],
  "win32-arm64": ["win32", "arm64"],
  "win32-x64": ["win32", "x64"],
};
let added = 0;
for (const [name, [os, cpu, libc]] of Object.entries(platforms)) {
  const key = `node_modules/@biomejs/cli-${name}`;
  if (!(`@biomejs/cli-${name}` in (biome.optionalDependencies ?? {})) || pkgs[key]) continue;
  pkgs[key] = {
    version: biome.version,
    cpu: [cpu],
    dev: true,
    ...(libc ? { libc: [libc] } : {}),
    license: "MIT OR Apache-2.0",
    optional: true,
    os: [os],
    engines: { node: ">=14.21.3" },
  };
  added += 1;
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
if (added) console.log(`fix-lock: added ${added} biome platform entries`);
