#!/usr/bin/env node
// Generates the Prisma client and Pothos types (postinstall) and, without --prisma-only,
// the printed GraphQL schema and the typed SDK too.
//
// Prisma 7's CLI tries to download a native schema engine before generating, which fails
// offline (CI and these machines reach only the npm registry). Generation needs no engine,
// so it is pointed at /bin/true (or a no-op on platforms without it).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY)
  env.PRISMA_SCHEMA_ENGINE_BINARY = existsSync("/bin/true") ? "/bin/true" : "true";
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
// The prisma-pothos-types generator is found through PATH, as npm scripts would.
env.PATH = `${path.resolve("node_modules/.bin")}${path.delimiter}${env.PATH ?? ""}`;

function run(cmd, args) {
  const res = spawnSync(cmd, args, { stdio: "inherit", env });
  if (res.status !== 0) {
    console.error(`generate: ${cmd} ${args.join(" ")} failed with ${res.status ?? res.signal}`);
    process.exit(res.status ?? 1);
  }
}

run(process.execPath, ["node_modules/prisma/build/index.js", "generate"]);
if (!process.argv.includes("--prisma-only")) {
  run(process.execPath, ["bin/hookgate.js", "schema", "print", "--output", "schema/schema.graphql"]);
  run(process.execPath, ["node_modules/@graphql-codegen/cli/esm/bin.js", "--config", "codegen.ts"]);
  run(process.execPath, ["scripts/readme-config.mjs"]);
  // The portal bundle includes the SDK's types and graphql-ws: rebuild it with the rest.
  run(process.execPath, ["scripts/build-web.mjs"]);
}
