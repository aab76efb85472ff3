/**
 * The SQL that Prisma itself would write for prisma/schema.prisma from an empty database, from
 * Prisma 6's CLI (dev dependency `prisma6`), whose WASM schema engine works offline through
 * scripts/prisma6.config.ts. Prisma 6 wants a `url` in the datasource (Prisma 7 forbids one), so
 * the CLI gets a copy with a dummy url. The result is cached per schema and CLI version under
 * node_modules/.cache/hookgate-test/ (the CLI takes ~5-15 s).
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { forPrisma6, withPredicates } from "../../scripts/prisma6-schema.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SCHEMA_PATH = path.join(ROOT, "prisma", "schema.prisma");
const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "hookgate-test");

/** schema.prisma with `url = "postgresql://unused"` added to its datasource block. */
export function withDummyUrl(schema: string): string {
  const out = schema.replace(/(datasource\s+\w+\s*\{)/, `$1\n  url = "postgresql://unused"`);
  if (out === schema) throw new Error("schema.prisma has no datasource block");
  return out;
}

/** Runs Prisma 6's `migrate diff --from-empty --to-schema-datamodel <schema> --script`. */
export async function prisma6CreateSql(schemaPath = SCHEMA_PATH): Promise<string> {
  const schema = readFileSync(schemaPath, "utf8");
  const cli = JSON.parse(readFileSync(path.join(ROOT, "node_modules/prisma6/package.json"), "utf8"));
  const config = readFileSync(path.join(ROOT, "scripts/prisma6.config.ts"), "utf8");
  const key = createHash("sha256").update(`${cli.version}\n${config}\n${schema}`).digest("hex").slice(0, 16);
  const cached = path.join(CACHE_DIR, `prisma6-create-${key}.sql`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    // not cached yet
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), "hookgate-prisma6-"));
  try {
    const copy = path.join(tmp, "schema.prisma");
    // Partial indexes: Prisma 6 reads the schema without their predicates, which go back into its SQL.
    const { schema: plain, predicates } = forPrisma6(schema);
    writeFileSync(copy, withDummyUrl(plain));
    const { stdout: printed } = await promisify(execFile)(
      process.execPath,
      [
        "node_modules/prisma6/build/index.js",
        "migrate",
        "diff",
        "--config",
        "scripts/prisma6.config.ts",
        "--from-empty",
        "--to-schema-datamodel",
        copy,
        "--script",
      ],
      {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
        env: {
          ...process.env,
          PRISMA_QUERY_ENGINE_LIBRARY: "/bin/true",
          PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true",
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
          PRISMA6_SCHEMA: copy,
        },
      },
    );
    const stdout = withPredicates(printed, predicates);
    if (!/CREATE TABLE/.test(stdout)) throw new Error(`prisma6 migrate diff printed no SQL:\n${stdout}`);
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      const part = `${cached}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      writeFileSync(part, stdout);
      renameSync(part, cached);
    } catch {
      // no cache then
    }
    return stdout;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
