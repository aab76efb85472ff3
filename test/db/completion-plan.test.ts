/**
 * The completion statement finds its deliveries (and, on a retried write, its attempts) by key. Joined
 * against the batch's rows as a set, PostgreSQL priced a scan of the whole deliveries table below a
 * hundred index probes while the table held a few thousand rows, and scanned it up to three times per
 * batch: the cost of every completion then grew with the table. Counted with pg_stat_user_tables on one
 * connection (pg_stat_force_next_flush makes the counts visible at once), so no timing is involved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";
import { type Completion, claimDue, completeBatch } from "../../src/dispatcher/queue.js";
import { createTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";

// Enough rows (of deliveries and of attempts) that the planner weighs a scan against index probes (the
// old statement scanned deliveries at 5,000).
const ROWS = 5000;
const BATCH = 40;

describe(`the completion statement's plan (${TEST_DB})`, () => {
  let t: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    t = await createTestDatabase();
    db = t.url ? await openDatabase({ databaseUrl: t.url, poolSize: 1, prisma: false }) : t.db;
    await db.exec(`
      INSERT INTO tenants (id, name, path, updated_at) VALUES ('ten_plan', 'plan', '/ten_plan/', now());
      INSERT INTO endpoints (id, tenant_id, url, updated_at) VALUES ('ep_plan', 'ten_plan', 'https://example.com/', now());
      INSERT INTO events (id, tenant_id, type, payload, created_at) VALUES ('evt_plan', 'ten_plan', 'plan.test', '{}', now());
      INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, next_attempt_at, updated_at)
        SELECT 'dlv_plan' || lpad(g::text, 5, '0'), 'evt_plan', 'ep_plan', 'ten_plan', 'plan.test',
               now() - interval '1 minute', now()
        FROM generate_series(1, ${ROWS}) g;
      INSERT INTO attempts (id, delivery_id, endpoint_id, attempt_number, url, status, trigger,
                            request_headers, duration_ms)
        SELECT 'att_old' || lpad(g::text, 5, '0'), 'dlv_plan' || lpad(g::text, 5, '0'), 'ep_plan', 1,
               'https://example.com/', 'FAILED', 'SCHEDULED', '{}', 1
        FROM generate_series(1, ${ROWS}) g;
      ANALYZE deliveries;
      ANALYZE attempts;`);
  }, 120_000);

  afterAll(async () => {
    if (db && db !== t?.db) await db.close();
    await t?.close();
  });

  async function seqScans() {
    await db.query("SELECT pg_stat_force_next_flush()");
    const rows = await db.query<{ relname: string; seq_scan: string }>(
      "SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname IN ('deliveries', 'attempts') ORDER BY relname",
    );
    return Object.fromEntries(rows.map((r) => [r.relname, Number(r.seq_scan)]));
  }

  it("completes a batch, and a retried write of it, without scanning deliveries or attempts", async () => {
    const claimed = await claimDue(db, "w/plan", BATCH, 60_000, []);
    expect(claimed).toHaveLength(BATCH);
    const batch: Completion[] = claimed.map((row, i) => ({
      id: row.id,
      lock: "w/plan",
      status: "SUCCEEDED",
      delay_ms: null,
      attempted: true,
      attempt_id: `att_plan${String(i).padStart(3, "0")}`,
      attempt_number: 1,
      url: row.url,
      att_status: "SUCCEEDED",
      trigger: row.trigger,
      req_headers: { "content-type": "application/json" },
      resp_code: 200,
      resp_body: "ok",
      duration_ms: 2,
      error: null,
      endpoint_id: row.endpoint_id,
    }));

    const before = await seqScans();
    const first = await completeBatch(db, batch, new Map(), 60_000);
    expect(first.updated.size).toBe(BATCH);
    // The same write again, as after a lost reply: it finds its attempts and counts every delivery.
    const again = await completeBatch(db, batch, new Map(), 60_000, { retry: true });
    expect(again.updated.size).toBe(BATCH);
    const after = await seqScans();

    expect(after).toEqual(before);
    const [n] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM attempts WHERE id LIKE 'att_plan%'",
    );
    expect(n.n).toBe(BATCH);
  }, 60_000);
});
