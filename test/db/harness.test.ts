import pg from "pg";
import { describe, expect, it } from "vitest";
import { pendingMigrations } from "../../src/db/migrate.js";
import { adminQuery, createTestDatabase, TEST_DB, withTestDatabase } from "../support/db.js";

async function tenantCount(t: { db: { query: <T>(sql: string) => Promise<T[]> } }): Promise<number> {
  const rows = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM tenants");
  return rows[0].n;
}

describe(`test databases (${TEST_DB})`, () => {
  it("are migrated, empty, and isolated from each other", async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      expect(a.kind).toBe(TEST_DB);
      expect(a.db.kind).toBe(TEST_DB);
      expect(await pendingMigrations(a.db)).toEqual([]);
      expect(await tenantCount(a)).toBe(0);
      await a.db.prisma.tenant.create({ data: { id: "ten_a", name: "A", path: "/ten_a/" } });
      expect(await tenantCount(a)).toBe(1);
      expect(await tenantCount(b)).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
    // Nothing written to a leaks into the next one (the template is untouched).
    await withTestDatabase(async (c) => {
      expect(await tenantCount(c)).toBe(0);
    });
  });

  it("withTestDatabase returns the callback's value and closes on error", async () => {
    expect(await withTestDatabase(async (t) => tenantCount(t))).toBe(0);
    let seen: { close(): Promise<void>; url?: string } | undefined;
    await expect(
      withTestDatabase(async (t) => {
        seen = t;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    if (TEST_DB === "postgres") {
      const name = new URL(seen!.url!).pathname.slice(1);
      const rows = await adminQuery("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      expect(rows.rowCount).toBe(0);
    }
  });

  it.runIf(TEST_DB === "postgres")(
    "postgres: url reaches the same database and close() drops it",
    async () => {
      const t = await createTestDatabase();
      expect(t.url).toMatch(/^postgresql:\/\//);
      const name = new URL(t.url!).pathname.slice(1);
      const client = new pg.Client({ connectionString: t.url });
      const errors: Error[] = [];
      client.on("error", (err) => errors.push(err));
      await client.connect();
      try {
        await client.query(
          `INSERT INTO tenants (id, name, path, updated_at) VALUES ('ten_x', 'X', '/ten_x/', now())`,
        );
        expect(await tenantCount(t)).toBe(1);
      } finally {
        // Left open on purpose: close() must drop the database even with a foreign session in it.
        await t.close();
      }
      await client.end().catch(() => {});
      // FORCE terminated the foreign session (57P01 admin_shutdown).
      expect(errors.map((e) => (e as { code?: string }).code)).toContain("57P01");
      const rows = await adminQuery("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      expect(rows.rowCount).toBe(0);
    },
  );
});
