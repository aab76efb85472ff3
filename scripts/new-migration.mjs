#!/usr/bin/env node
// Writes a new SQL migration for the changes in prisma/schema.prisma since the last migration.
//
//   node scripts/new-migration.mjs <name>     e.g. add_endpoint_note
//       → prisma/migrations/<UTC yyyymmddHHMMss>_<name>/migration.sql (review it, then commit it
//         together with the schema change; Hookgate applies it at its next start / `hookgate migrate`)
//   node scripts/new-migration.mjs --check
//       → exit 0 when the migrations already produce schema.prisma, 1 (and the missing SQL) if not
//
// Works offline. Prisma 7's CLI needs a native schema engine it cannot download here, so this
// uses Prisma 6's CLI (dev dependency `prisma6`, WASM engine) through PGlite:
// `migrate diff --from-migrations prisma/migrations --to-schema-datamodel schema.prisma`. The
// migrations are replayed in an in-memory PGlite "shadow database"; PGlite's Prisma adapter
// cannot run multi-statement SQL as one prepared statement, so this script's own Prisma 6 config
// (written to a temp dir) sends parameterless SQL through PGlite's exec(). Prisma 6 also needs a
// `url` in the datasource, which Prisma 7 forbids, so the CLI gets a copy of the schema with one.
// test/db/migrations.test.ts checks the result independently (the migrations vs schema.prisma,
// compared through pg_catalog) on PGlite and PostgreSQL.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { forPrisma6, withoutPartialIndexes } from "./prisma6-schema.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SCHEMA = path.join(ROOT, "prisma", "schema.prisma");
const MIGRATIONS = path.join(ROOT, "prisma", "migrations");

function usage(code) {
  console.error("usage: node scripts/new-migration.mjs <name> | --check");
  process.exit(code);
}

/** Prisma 6 config whose shadow database is an in-memory PGlite that can run whole migration files. */
function shadowConfig(schemaCopy) {
  // The config lives in a temp dir, so it imports the project's packages by absolute URL.
  const pglite = import.meta.resolve("@electric-sql/pglite");
  const adapter = import.meta.resolve("pglite-prisma-adapter");
  const config = import.meta.resolve("prisma6/config");
  return `
import { PGlite } from ${JSON.stringify(pglite)};
import { PrismaPGlite } from ${JSON.stringify(adapter)};
import { defineConfig } from ${JSON.stringify(config)};

// Parameterless statements go through exec(), which accepts several statements at once.
function multiStatement(adapter, pg) {
  return new Proxy(adapter, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "executeRaw") {
        return (q) => ((q.args ?? []).length === 0 ? pg.exec(q.sql).then(() => 0) : value.call(target, q));
      }
      if (prop === "executeScript") return (sql) => pg.exec(sql).then(() => undefined);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: ${JSON.stringify(schemaCopy)},
  adapter: async () => {
    const main = new PGlite("memory://");
    const factory = new PrismaPGlite(main);
    return {
      provider: factory.provider,
      adapterName: factory.adapterName,
      connect: async () => multiStatement(await factory.connect(), main),
      connectToShadowDb: async () => {
        const shadow = new PGlite("memory://");
        return multiStatement(await new PrismaPGlite(shadow).connect(), shadow);
      },
    };
  },
});
`;
}

/** SQL that brings a database migrated with prisma/migrations to schema.prisma ("" when none). */
async function pendingSql() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "hookgate-new-migration-"));
  try {
    // Prisma 6 does not know partial indexes: it compares the schema without their predicates (so a
    // predicate's change needs a hand-written migration; test/db/migrations.test.ts checks it).
    const { schema, predicates } = forPrisma6(readFileSync(SCHEMA, "utf8"));
    const withUrl = schema.replace(/(datasource\s+\w+\s*\{)/, `$1\n  url = "postgresql://unused"`);
    if (withUrl === schema) throw new Error("prisma/schema.prisma has no datasource block");
    const schemaCopy = path.join(tmp, "schema.prisma");
    writeFileSync(schemaCopy, withUrl);
    const configFile = path.join(tmp, "prisma6.config.mjs");
    writeFileSync(configFile, shadowConfig(schemaCopy));
    const cli = path.join(ROOT, "node_modules", "prisma6", "build", "index.js");
    const args = [cli, "migrate", "diff", "--config", configFile, "--from-migrations", MIGRATIONS];
    args.push("--to-schema-datamodel", schemaCopy, "--script", "--exit-code");
    const env = {
      ...process.env,
      PRISMA_QUERY_ENGINE_LIBRARY: "/bin/true",
      PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    };
    try {
      await promisify(execFile)(process.execPath, args, { cwd: ROOT, env, maxBuffer: 16 << 20 });
      return ""; // --exit-code: 0 means no difference
    } catch (err) {
      if (err.code === 2) return withoutPartialIndexes(err.stdout, predicates); // 2: a difference, as SQL
      throw new Error(`prisma6 migrate diff failed (${err.code ?? err.signal}):\n${err.stdout}${err.stderr}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** yyyymmddHHMMss in UTC, later than every existing migration (they apply in name order). */
function timestamp() {
  const fmt = (d) => d.toISOString().replace(/\D/g, "").slice(0, 14);
  let t = new Date();
  const last = readdirSync(MIGRATIONS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{14}_/.test(d.name))
    .map((d) => d.name.slice(0, 14))
    .sort()
    .at(-1);
  if (last && fmt(t) <= last) {
    const p = (i, n) => Number(last.slice(i, i + n));
    t = new Date(Date.UTC(p(0, 4), p(4, 2) - 1, p(6, 2), p(8, 2), p(10, 2), p(12, 2)) + 1000);
  }
  return fmt(t);
}

const arg = process.argv[2];
if (!arg || arg === "-h" || arg === "--help" || process.argv.length > 3) usage(arg ? 0 : 2);

const sql = await pendingSql();
if (arg === "--check") {
  if (!sql.trim()) {
    console.log("prisma/migrations produce prisma/schema.prisma: no migration needed");
    process.exit(0);
  }
  console.error("prisma/schema.prisma has changes that no migration contains. Missing SQL:\n");
  console.error(sql);
  console.error("Write it with: node scripts/new-migration.mjs <name>");
  process.exit(1);
}

const name = arg
  .toLowerCase()
  .replace(/[^a-z0-9]+/g, "_")
  .replace(/^_+|_+$/g, "");
if (!name) usage(2);
if (!sql.trim()) {
  console.log("prisma/schema.prisma already matches prisma/migrations: nothing to write");
  process.exit(0);
}
const dir = path.join(MIGRATIONS, `${timestamp()}_${name}`);
mkdirSync(dir);
writeFileSync(path.join(dir, "migration.sql"), sql);
console.log(`wrote ${path.relative(ROOT, path.join(dir, "migration.sql"))}:\n\n${sql}`);
console.log("Review it, run the tests (test/db/migrations.test.ts), and commit it with the schema change.");
