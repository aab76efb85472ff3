/**
 * Fresh, fully migrated, empty databases for integration tests, on the database chosen by
 * HOOKGATE_TEST_DB ("pglite", the default, or "postgres"; vitest.config.ts sets it per project).
 *
 *   const t = await createTestDatabase();   // t.db: Database, t.url (postgres only)
 *   try { ... } finally { await t.close(); }
 *   // or: await withTestDatabase(async (t) => { ... });
 *
 * PGlite: the migrated template is built once and cached on disk as a data-dir tarball
 * (node_modules/.cache/hookgate-test/, keyed by the migrations, migrate.ts and the PGlite version), so each
 * call only loads it into a new in-memory instance (~0.3 s).
 * Postgres: each call is `CREATE DATABASE <unique> TEMPLATE <template>` on the server that
 * test/support/global-postgres.ts started (or HOOKGATE_TEST_DATABASE_URL); close() drops it.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { inject } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";
import { migrate, readMigrations } from "../../src/db/migrate.js";

export type TestDbKind = "pglite" | "postgres";

function testDbKind(): TestDbKind {
  const raw = process.env.HOOKGATE_TEST_DB ?? "pglite";
  if (raw !== "pglite" && raw !== "postgres") {
    throw new Error(`HOOKGATE_TEST_DB must be "pglite" or "postgres", got "${raw}"`);
  }
  return raw;
}

export const TEST_DB: TestDbKind = testDbKind();

export interface TestDatabase {
  db: Database;
  kind: TestDbKind;
  /** Postgres only: a URL other processes/clients can connect to (the same fresh database). */
  url?: string;
  /** Closes the Database and (Postgres) drops the database. Safe to call twice. */
  close(): Promise<void>;
}

/** What the postgres project's globalSetup hands to the workers. */
export interface TestPostgresInfo {
  /** Superuser URL on the test server (its path names a maintenance database). */
  adminUrl: string;
  /** Name of the migrated template database. */
  template: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    hookgatePostgres: TestPostgresInfo | undefined;
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  return TEST_DB === "postgres" ? createPostgresDatabase() : createPgliteDatabase();
}

/**
 * A fresh database with NO migrations applied (not even _prisma_migrations), for tests of the
 * migrator itself. Same close() contract as createTestDatabase().
 */
export async function createEmptyTestDatabase(): Promise<TestDatabase> {
  if (TEST_DB === "postgres") return createPostgresDatabase("template0");
  const pglite = await PGlite.create("memory://");
  return wrapPglite(pglite);
}

export async function withTestDatabase<T>(fn: (t: TestDatabase) => Promise<T>): Promise<T> {
  const t = await createTestDatabase();
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

// ---------------------------------------------------------------------------------------------
// PGlite

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "hookgate-test");

let templateBlob: Promise<Blob> | undefined;

function templateKey(): string {
  const h = createHash("sha256");
  const pkg = JSON.parse(
    readFileSync(path.join(ROOT, "node_modules/@electric-sql/pglite/package.json"), "utf8"),
  );
  h.update(`pglite ${pkg.version}\n`);
  for (const m of readMigrations()) h.update(`${m.name} ${m.checksum}\n`);
  // The migrator too: it creates _prisma_migrations.
  h.update(readFileSync(path.join(ROOT, "src/db/migrate.ts")));
  return h.digest("hex").slice(0, 16);
}

/** The migrated template as a data-dir tarball: from the disk cache, else built once here. */
export function pgliteTemplate(): Promise<Blob> {
  templateBlob ??= (async () => {
    const file = path.join(CACHE_DIR, `pglite-template-${templateKey()}.tar`);
    try {
      return new Blob([readFileSync(file)]);
    } catch {
      // not cached yet
    }
    const pglite = await PGlite.create("memory://");
    const db = await openDatabase({ pglite });
    let blob: Blob;
    try {
      await migrate(db);
      blob = await pglite.dumpDataDir("none");
    } finally {
      await db.close();
    }
    const bytes = Buffer.from(await blob.arrayBuffer());
    try {
      // Write-then-rename: concurrent workers may build it at the same time; either copy is right.
      mkdirSync(CACHE_DIR, { recursive: true });
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, file);
    } catch {
      // a read-only checkout: no cache, rebuilt per worker
    }
    return new Blob([bytes]);
  })();
  templateBlob.catch(() => {
    templateBlob = undefined;
  });
  return templateBlob;
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  return wrapPglite(await PGlite.create("memory://", { loadDataDir: await pgliteTemplate() }));
}

async function wrapPglite(pglite: PGlite): Promise<TestDatabase> {
  let db: Database;
  try {
    db = await openDatabase({ pglite });
  } catch (err) {
    await pglite.close();
    throw err;
  }
  return { db, kind: "pglite", close: () => db.close() };
}

// ---------------------------------------------------------------------------------------------
// Postgres

let counter = 0;

export function testPostgresInfo(): TestPostgresInfo {
  const info = inject("hookgatePostgres");
  if (!info) {
    throw new Error(
      "HOOKGATE_TEST_DB=postgres but no test server was provided: run the tests through the vitest " +
        'project "postgres" (npm run test:postgres), whose globalSetup starts one',
    );
  }
  return info;
}

/** The admin URL with its database replaced. */
export function databaseUrl(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Runs statements on a short-lived superuser connection to the test server. */
export async function adminQuery(sql: string, params?: unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: testPostgresInfo().adminUrl });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function createPostgresDatabase(fromTemplate?: string): Promise<TestDatabase> {
  const { adminUrl } = testPostgresInfo();
  const template = fromTemplate ?? testPostgresInfo().template;
  counter += 1;
  const name = `hg_test_${process.pid}_${counter}_${randomBytes(3).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`);
  const url = databaseUrl(adminUrl, name);
  const drop = () => adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: url, poolSize: 5 });
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: "postgres",
    url,
    close() {
      closing ??= (async () => {
        try {
          await db.close();
        } finally {
          await drop();
        }
      })();
      return closing;
    },
  };
}
