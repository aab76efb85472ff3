/**
 * The committed migrations must produce exactly the schema that prisma/schema.prisma describes.
 * A: prisma/migrations applied by Hookgate's own migrate(). B: the SQL Prisma 6's CLI writes for
 * schema.prisma from scratch. Both are read back from pg_catalog and must be deep-equal.
 * When this fails after a schema change: `node scripts/new-migration.mjs <name>`.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.js";
import { MIGRATIONS_DIR, migrate, pendingMigrations, readMigrations } from "../../src/db/migrate.js";
import { createEmptyTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";
import { prisma6CreateSql } from "../support/prisma6.js";
import { describeSchema, diffSchemas, type SchemaDescription } from "../support/schema.js";

const names = readMigrations().map((m) => m.name);

describe(`migrations vs schema.prisma (${TEST_DB})`, () => {
  let a: TestDatabase;
  let b: TestDatabase;
  let schemaA: SchemaDescription;
  let schemaB: SchemaDescription;

  beforeAll(async () => {
    const [sql, dbA, dbB] = await Promise.all([
      prisma6CreateSql(),
      createEmptyTestDatabase(),
      createEmptyTestDatabase(),
    ]);
    a = dbA;
    b = dbB;
    await migrate(a.db);
    await b.db.exec(sql);
    schemaA = await describeSchema(a.db);
    schemaB = await describeSchema(b.db);
  }, 180_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("produce exactly the schema schema.prisma describes", () => {
    const hint =
      "A = prisma/migrations, B = schema.prisma. Missing a migration? node scripts/new-migration.mjs <name>";
    expect(diffSchemas(schemaA, schemaB), hint).toEqual([]);
    expect(schemaA).toEqual(schemaB);
  });

  it("the description is not vacuous", () => {
    // Spot checks that the introspection sees what the comparison relies on.
    expect(Object.keys(schemaA.tables)).toEqual(
      expect.arrayContaining(["tenants", "api_keys", "endpoints", "events", "deliveries", "attempts"]),
    );
    expect(schemaA.tables._prisma_migrations).toBeUndefined();
    expect(schemaA.enums.delivery_status).toEqual([
      "PENDING",
      "SENDING",
      "SUCCEEDED",
      "RETRYING",
      "FAILED",
      "CANCELLED",
    ]);
    expect(schemaA.tables.deliveries.columns.next_attempt_at).toMatchObject({
      type: "timestamp(3) with time zone",
      notNull: false,
      default: "CURRENT_TIMESTAMP",
    });
    expect(schemaA.tables.api_keys.columns.scopes.type).toBe("api_key_scope[]");
    expect(Object.values(schemaA.tables.deliveries.constraints)).toContain(
      "f FOREIGN KEY (endpoint_id) REFERENCES endpoints(id) ON UPDATE CASCADE ON DELETE CASCADE",
    );
    expect(Object.values(schemaA.tables.tenants.constraints)).toContain(
      "f FOREIGN KEY (parent_id) REFERENCES tenants(id) ON UPDATE CASCADE ON DELETE RESTRICT",
    );
    expect(Object.values(schemaA.tables.events.indexes)).toContain(
      "CREATE UNIQUE INDEX events_tenant_id_idempotency_key_key ON public.events USING btree (tenant_id, idempotency_key)",
    );
  });

  // Runs last: it alters B to show that the comparison notices each kind of difference.
  it("the comparison reports differences (columns, types, defaults, FK actions, indexes, enums)", async () => {
    const changes: [string, string][] = [
      [`ALTER TABLE "tenants" ADD COLUMN "extra" INTEGER`, "tables.tenants.columns.extra: only in B"],
      [
        `ALTER TABLE "attempts" ALTER COLUMN "created_at" TYPE TIMESTAMPTZ(6)`,
        "tables.attempts.columns.created_at.type",
      ],
      [`ALTER TABLE "events" ALTER COLUMN "test" SET DEFAULT true`, "tables.events.columns.test.default"],
      [`ALTER TABLE "events" ALTER COLUMN "type" DROP NOT NULL`, "tables.events.columns.type.notNull"],
      [
        `ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_tenant_id_fkey",
         ADD CONSTRAINT "api_keys_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE`,
        "tables.api_keys.constraints.api_keys_tenant_id_fkey",
      ],
      [
        `DROP INDEX "deliveries_event_id_idx"; CREATE INDEX "deliveries_event_id_idx" ON "deliveries" ("event_id" DESC)`,
        "tables.deliveries.indexes.deliveries_event_id_idx",
      ],
      [`ALTER TYPE "endpoint_status" ADD VALUE 'PAUSED'`, "enums.endpoint_status"],
      [
        `ALTER TABLE "tenants" ADD CONSTRAINT "tenants_name_check" CHECK (name <> '')`,
        "tenants_name_check: only in B",
      ],
    ];
    for (const [sql, expected] of changes) {
      await b.db.exec(sql);
      const diff = diffSchemas(schemaA, await describeSchema(b.db));
      expect(
        diff.some((d) => d.includes(expected)),
        `${sql}\n→ ${diff.join("\n")}`,
      ).toBe(true);
    }
  });
});

describe(`migrate() (${TEST_DB})`, () => {
  it("applies every migration once, records it as Prisma does, and is then a no-op", async () => {
    const t = await createEmptyTestDatabase();
    try {
      expect(await pendingMigrations(t.db)).toEqual(names);
      const first = await migrate(t.db);
      expect(first).toEqual({ applied: names, modified: [] });
      expect(await pendingMigrations(t.db)).toEqual([]);

      const before = await t.db.query(`SELECT * FROM "_prisma_migrations" ORDER BY migration_name`);
      expect(await migrate(t.db)).toEqual({ applied: [], modified: [] });
      expect(await t.db.query(`SELECT * FROM "_prisma_migrations" ORDER BY migration_name`)).toEqual(before);

      expect(before).toHaveLength(names.length);
      for (const [i, row] of before.entries()) {
        const file = readFileSync(path.join(MIGRATIONS_DIR, names[i], "migration.sql"));
        expect(row).toMatchObject({
          migration_name: names[i],
          checksum: createHash("sha256").update(file).digest("hex"),
          applied_steps_count: 1,
          rolled_back_at: null,
          logs: null,
        });
        expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.started_at).toBeInstanceOf(Date);
      }
      // The table itself has Prisma's shape (so `prisma migrate status` can read it).
      const cols = await t.db.query<{ column_name: string; data_type: string; is_nullable: string }>(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      );
      expect(cols.map((c) => `${c.column_name} ${c.data_type} ${c.is_nullable}`)).toEqual([
        "id character varying NO",
        "checksum character varying NO",
        "finished_at timestamp with time zone YES",
        "migration_name character varying NO",
        "logs text YES",
        "rolled_back_at timestamp with time zone YES",
        "started_at timestamp with time zone NO",
        "applied_steps_count integer NO",
      ]);

      // An applied migration whose file changed since is reported, not re-run.
      await t.db.query(`UPDATE "_prisma_migrations" SET checksum = 'x' WHERE migration_name = $1`, [
        names[0],
      ]);
      expect(await migrate(t.db)).toEqual({ applied: [], modified: [names[0]] });
    } finally {
      await t.close();
    }
  });

  it("goes on only when every migration is recorded as finished: else it migrates, or refuses", async () => {
    const t = await createEmptyTestDatabase();
    try {
      await migrate(t.db);
      const last = names.at(-1)!;
      // A migration recorded as started and never finished (a crash mid-migration) is refused.
      await t.db.query(`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE migration_name = $1`, [
        last,
      ]);
      await expect(migrate(t.db)).rejects.toThrow(`migration ${last} was started but never finished`);
      await t.db.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = $1`, [last]);
      // A migration without a record is pending: migrate() runs it (the first one fails: its tables exist).
      await t.db.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = $1`, [names[0]]);
      await expect(migrate(t.db)).rejects.toThrow(`migration ${names[0]} failed`);
    } finally {
      await t.close();
    }
  });

  it.runIf(TEST_DB === "postgres")(
    "postgres: an up-to-date database is checked without waiting for the migrate lock",
    async () => {
      const t = await createEmptyTestDatabase();
      const holder = await openDatabase({ databaseUrl: t.url!, poolSize: 1, prisma: false });
      try {
        await migrate(t.db);
        await holder.withConnection(async (query) => {
          await query("SELECT pg_advisory_lock(72707369)");
          try {
            // Bounded: with the lock taken elsewhere, the locked path would wait until the timeout.
            const result = await Promise.race([
              migrate(t.db),
              new Promise((r) => setTimeout(() => r("waited for the lock"), 20_000)),
            ]);
            expect(result).toEqual({ applied: [], modified: [] });
          } finally {
            await query("SELECT pg_advisory_unlock(72707369)");
          }
        });
      } finally {
        await holder.close();
        await t.close();
      }
    },
  );

  it.runIf(TEST_DB === "postgres")(
    "postgres: two processes migrating one database at once both succeed, each migration recorded once",
    async () => {
      const t = await createEmptyTestDatabase();
      const other = await openDatabase({ databaseUrl: t.url!, poolSize: 2 });
      try {
        const results = await Promise.all([migrate(t.db), migrate(other)]);
        // The advisory lock serialises them: one applies everything, the other finds nothing to do.
        expect(results.map((r) => r.applied.length).sort()).toEqual([0, names.length]);
        const rows = await t.db.query<{ migration_name: string; n: number }>(
          `SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1 ORDER BY 1`,
        );
        expect(rows).toEqual(names.map((n) => ({ migration_name: n, n: 1 })));
        expect(await pendingMigrations(other)).toEqual([]);
      } finally {
        await other.close();
        await t.close();
      }
    },
  );
});
