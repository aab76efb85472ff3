import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "./database.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

/**
 * The advisory lock key Prisma Migrate itself takes (72707369). Using the same key means
 * Hookgate processes starting together, and `prisma migrate deploy`, never migrate at once.
 */
const MIGRATE_LOCK_KEY = 72707369;

/** _prisma_migrations exactly as Prisma Migrate creates it, so `prisma migrate status` agrees. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      // Prisma's checksum is the SHA-256 (hex) of the migration file's bytes.
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export interface MigrateResult {
  applied: string[];
  /** Applied migrations whose file changed since (Prisma warns about these too). */
  modified: string[];
}

/**
 * Applies pending migrations under the migrate advisory lock. Each migration runs in its
 * own transaction together with its _prisma_migrations row, so a failure leaves nothing
 * half-applied and the next start retries it.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const migrations = readMigrations(dir);
  const upToDate = await checkUpToDate(db, migrations);
  if (upToDate) return upToDate;
  const result: MigrateResult = { applied: [], modified: [] };
  await withAdvisoryLock(db, async (run) => {
    await run(CREATE_MIGRATIONS_TABLE);
    const { done, unfinished } = finishedMigrations(await runQuery<AppliedRow>(run, APPLIED_SQL));
    if (unfinished) {
      throw new MigrationError(
        `migration ${unfinished} was started but never finished; resolve it (prisma migrate resolve) before starting Hookgate`,
      );
    }
    for (const m of migrations) {
      const prev = done.get(m.name);
      if (prev) {
        if (prev.checksum !== m.checksum) result.modified.push(m.name);
        continue;
      }
      const id = randomUUID();
      await run("BEGIN");
      try {
        await run(m.sql);
        await run(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ('${id}', '${m.checksum}', '${m.name.replace(/'/g, "''")}', now(), now(), 1)`,
        );
        await run("COMMIT");
      } catch (err) {
        await run("ROLLBACK").catch(() => {});
        throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      result.applied.push(m.name);
    }
  });
  return result;
}

/**
 * The common case at start, in one read without the lock: every migration is recorded as finished (and
 * none as started and unfinished). Otherwise undefined, and migrate() takes the lock and looks again. A
 * migration being applied meanwhile is not seen (its row commits with it), so it counts as pending: a process
 * never goes on with a schema behind its code.
 */
async function checkUpToDate(db: Database, migrations: Migration[]): Promise<MigrateResult | undefined> {
  let rows: AppliedRow[];
  try {
    rows = await db.query<AppliedRow>(APPLIED_SQL);
  } catch (err) {
    // 42P01: no _prisma_migrations yet (a new database).
    if ((err as { code?: unknown }).code === "42P01") return undefined;
    throw err;
  }
  const { done, unfinished } = finishedMigrations(rows);
  if (unfinished) return undefined;
  const modified: string[] = [];
  for (const m of migrations) {
    const prev = done.get(m.name);
    if (!prev) return undefined;
    if (prev.checksum !== m.checksum) modified.push(m.name);
  }
  return { applied: [], modified };
}

const APPLIED_SQL = `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`;

/** The finished migrations by name (rolled-back rows left out), or the first one started and never finished. */
function finishedMigrations(rows: AppliedRow[]): { done: Map<string, AppliedRow>; unfinished?: string } {
  const done = new Map<string, AppliedRow>();
  for (const row of rows) {
    if (row.rolled_back_at) continue;
    if (!row.finished_at) return { done, unfinished: row.migration_name };
    done.set(row.migration_name, row);
  }
  return { done };
}

/** Names of migrations not yet applied (for /ready). */
export async function pendingMigrations(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const exists = await db.query<{ t: string | null }>(
    `SELECT to_regclass('"_prisma_migrations"')::text AS t`,
  );
  const names = readMigrations(dir).map((m) => m.name);
  if (!exists[0]?.t) return names;
  const rows = await db.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const applied = new Set(rows.map((r) => r.migration_name));
  return names.filter((n) => !applied.has(n));
}

type Run = (sql: string) => Promise<unknown[]>;

async function runQuery<T>(run: Run, sql: string): Promise<T[]> {
  return (await run(sql)) as T[];
}

/**
 * Runs fn on ONE connection holding the migrate advisory lock (the lock and each
 * migration's BEGIN/COMMIT must share a connection; on PGlite there is only one).
 */
async function withAdvisoryLock(db: Database, fn: (run: Run) => Promise<void>): Promise<void> {
  await db.withConnection(async (query) => {
    const run: Run = (sql) => query(sql);
    await run(`SELECT pg_advisory_lock(${MIGRATE_LOCK_KEY})`);
    try {
      await fn(run);
    } finally {
      await run(`SELECT pg_advisory_unlock(${MIGRATE_LOCK_KEY})`).catch(() => {});
    }
  });
}
