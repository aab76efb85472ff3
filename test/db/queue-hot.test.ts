/**
 * The queue's claim is a HOT update (it changes no indexed column, and the table leaves room on its
 * pages), and a release without delay too; completing to a final state takes the row out of the due
 * index (partial: next_attempt_at IS NOT NULL). Counted with pg_stat_user_tables on one connection
 * (pg_stat_force_next_flush makes the counts visible at once), so no timing is involved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";
import { emptyCompletion } from "../../src/dispatcher/completions.js";
import { type Completion, claimDue, completeBatch } from "../../src/dispatcher/queue.js";
import { createTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";

// Few enough rows to share one page with room for their new versions (see the fillfactor).
const N = 12;

describe(`queue updates and the due index (${TEST_DB})`, () => {
  let t: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    t = await createTestDatabase();
    // One connection on PostgreSQL as well: the counts are read where the updates were made.
    db = t.url ? await openDatabase({ databaseUrl: t.url, poolSize: 1 }) : t.db;
    await db.exec(`
      INSERT INTO tenants (id, name, path, updated_at) VALUES ('ten_hot', 'hot', '/ten_hot/', now());
      INSERT INTO endpoints (id, tenant_id, url, updated_at) VALUES ('ep_hot', 'ten_hot', 'https://example.com/', now());
      INSERT INTO events (id, tenant_id, type, payload, created_at) VALUES ('evt_hot', 'ten_hot', 'hot.test', '{}', now());
      INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, next_attempt_at, updated_at)
        SELECT 'dlv_hot' || lpad(g::text, 3, '0'), 'evt_hot', 'ep_hot', 'ten_hot', 'hot.test',
               now() - interval '1 minute', now()
        FROM generate_series(1, ${N}) g;`);
  }, 60_000);

  afterAll(async () => {
    if (db && db !== t?.db) await db.close();
    await t?.close();
  });

  async function counts() {
    await db.query("SELECT pg_stat_force_next_flush()");
    const [row] = await db.query<{ upd: string; hot: string }>(
      "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'deliveries'",
    );
    return { upd: Number(row.upd), hot: Number(row.hot) };
  }

  const inDueIndex = async () => {
    // The partial index is the only way to these rows by next_attempt_at; count its entries directly.
    await db.query("SET enable_seqscan = off");
    try {
      const [row] = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at > '-infinity'",
      );
      return Number(row.n);
    } finally {
      await db.query("RESET enable_seqscan");
    }
  };

  it("the due index is partial and the table leaves room for HOT updates", async () => {
    const [idx] = await db.query<{ def: string }>(
      "SELECT pg_get_indexdef('deliveries_next_attempt_at_idx'::regclass) AS def",
    );
    expect(idx.def).toMatch(/WHERE \(next_attempt_at IS NOT NULL\)$/);
    const [rel] = await db.query<{ opts: string[] }>(
      "SELECT reloptions AS opts FROM pg_class WHERE relname = 'deliveries'",
    );
    expect(rel.opts).toContain("fillfactor=50");
  });

  it("claims are HOT, a release without delay too; final outcomes leave the due index", async () => {
    const before = await counts();
    const claimed = await claimDue(db, "w/1", N, 60_000, []);
    expect(claimed).toHaveLength(N);
    const afterClaim = await counts();
    expect(afterClaim.upd - before.upd).toBe(N);
    expect(afterClaim.hot - before.hot).toBe(N);

    // Claimed rows keep their due time; a live lease keeps them from being claimed again.
    const rows = await db.query<{ status: string; next_attempt_at: Date; lease_expires_at: Date }>(
      "SELECT status::text, next_attempt_at, lease_expires_at FROM deliveries",
    );
    for (const r of rows) {
      expect(r.status).toBe("SENDING");
      expect(r.next_attempt_at.getTime()).toBeLessThan(Date.now());
      expect(r.lease_expires_at.getTime()).toBeGreaterThan(Date.now());
    }
    expect(await claimDue(db, "w/2", N, 60_000, [])).toHaveLength(0);

    const done = (row: (typeof claimed)[number], i: number): Completion => ({
      ...emptyCompletion(row, "w/1"),
      status: i % 2 ? "SUCCEEDED" : "PENDING",
      delay_ms: i % 2 ? null : 0,
    });
    const res = await completeBatch(db, claimed.map(done), new Map(), 60_000);
    expect(res.updated.size).toBe(N);
    const afterDone = await counts();
    expect(afterDone.upd - afterClaim.upd).toBe(N);
    // The N/2 releases (no delay) are HOT; the N/2 final ones leave the due index, so they cannot be.
    expect(afterDone.hot - afterClaim.hot).toBe(N / 2);
    expect(await inDueIndex()).toBe(N / 2);

    // Released rows are claimable at once again, in their old place.
    expect(await claimDue(db, "w/3", N, 60_000, [])).toHaveLength(N / 2);
  });
});
