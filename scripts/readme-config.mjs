#!/usr/bin/env node
// Rewrites the configuration table in README.md (between the config-table markers) from
// src/config.ts, so the documented defaults are the real ones. test/readme.test.ts checks it.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const table = execFileSync(process.execPath, ["bin/hookgate.js", "config", "--markdown"], {
  encoding: "utf8",
}).trimEnd();
const readme = readFileSync("README.md", "utf8");
const re = /(<!-- config-table:start -->)[\s\S]*?(<!-- config-table:end -->)/;
if (!re.test(readme)) {
  console.error("README.md has no config-table markers");
  process.exit(1);
}
writeFileSync("README.md", readme.replace(re, `$1\n${table}\n$2`));
