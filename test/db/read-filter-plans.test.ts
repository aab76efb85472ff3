import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor, App } from "../../src/domain/app.js";
import { attemptWhere, deliveryWhere } from "../../src/domain/delivery-queries.js";
import { PrismaClient } from "../../src/generated/prisma/client.js";
import { createTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";

/*
 * The read filters stay fast with many rows: the SQL Prisma sends for attempts/deliveries
 * filtered by event type, tenant and endpoint is EXPLAINed on a PostgreSQL holding 200,000
 * attempts (ANALYZEd), and the plan must read through the indexes built for these filters
 * rather than scan the tables. PostgreSQL only: PGlite has no planner statistics worth asserting.
 */
describe.skipIf(TEST_DB !== "postgres")("read filter plans (PostgreSQL)", () => {
  let t: TestDatabase;
  let pool: pg.Pool;
  let prisma: PrismaClient;
  const sent: { query: string; params: string }[] = [];
  const actor: Actor = { keyId: "key_x", tenantId: "ten_0", tenantPath: "/ten_0/", scopes: ["ADMIN"] };

  beforeAll(async () => {
    t = await createTestDatabase();
    pool = new pg.Pool({ connectionString: t.url, max: 2 });
    prisma = new PrismaClient({
      adapter: new PrismaPg(pool),
      log: [{ emit: "event", level: "query" }],
    });
    // The client's type does not carry the log option; the event is Prisma's documented query event.
    const logged = prisma as unknown as {
      $on(event: "query", cb: (e: { query: string; params: string }) => void): void;
    };
    logged.$on("query", (e) => sent.push({ query: e.query, params: e.params }));
    // 20 tenants (ten_0 the parent of the rest), 10 endpoints each, 20 event types;
    // 100,000 deliveries with 2 attempts each.
    await pool.query(`
      INSERT INTO tenants (id, name, parent_id, path, updated_at)
        SELECT 'ten_' || i, 't' || i, CASE WHEN i = 0 THEN NULL ELSE 'ten_0' END,
               CASE WHEN i = 0 THEN '/ten_0/' ELSE '/ten_0/ten_' || i || '/' END, now()
        FROM generate_series(0, 19) i;
      INSERT INTO endpoints (id, tenant_id, uid, url, events, updated_at)
        SELECT 'ep_' || i, 'ten_' || (i % 20), 'uid' || (i / 20), 'https://example.com/', '{*}', now()
        FROM generate_series(0, 199) i;
      INSERT INTO events (id, tenant_id, type, payload)
        SELECT 'evt_' || lpad(i::text, 7, '0'), 'ten_' || (i % 20), 'type.' || (i % 20), '{}'
        FROM generate_series(0, 99999) i;
      INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, status, updated_at)
        SELECT 'dlv_' || lpad(i::text, 7, '0'), 'evt_' || lpad(i::text, 7, '0'), 'ep_' || (i % 200),
               'ten_' || (i % 20), 'type.' || (i % 20), 'FAILED', now()
        FROM generate_series(0, 99999) i;
      INSERT INTO attempts (id, delivery_id, endpoint_id, attempt_number, url, status, trigger,
                            request_headers, request_body, duration_ms)
        SELECT 'att_' || lpad(i::text, 7, '0'), 'dlv_' || lpad((i / 2)::text, 7, '0'),
               'ep_' || ((i / 2) % 200), i % 2 + 1, 'https://example.com/', 'FAILED', 'SCHEDULED',
               '{}', '{}', 1
        FROM generate_series(0, 199999) i;
      ANALYZE;
    `);
  }, 120_000);
  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await t?.close();
  });

  const app = () => ({ prisma }) as unknown as App;

  /** The plan of the last SQL Prisma sent that reads `table`, as EXPLAIN's JSON text. */
  async function planOf(table: string, run: () => Promise<unknown>): Promise<string> {
    sent.length = 0;
    await run();
    const statement = sent.filter((q) => q.query.includes(`FROM "public"."${table}"`)).at(-1);
    if (!statement) throw new Error(`no query on ${table} among ${sent.map((q) => q.query).join("\n")}`);
    const params = JSON.parse(statement.params) as unknown[];
    const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${statement.query}`, params);
    return JSON.stringify(rows[0]["QUERY PLAN"]);
  }

  it("attempts of one event type in one tenant, a page of 500 at offset 500: by (tenant_id, event_type, id)", async () => {
    const where = await attemptWhere(app(), actor, { eventType: "type.7", tenantId: "ten_7" });
    const plan = await planOf("attempts", () =>
      prisma.attempt.findMany({ where, orderBy: { id: "desc" }, take: 501, skip: 500 }),
    );
    expect(plan).toContain("deliveries_tenant_id_event_type_id_idx");
    expect(seqScans(plan)).toEqual([]);
  });

  it("attempts and deliveries of one endpoint by uid: by an endpoint_id index", async () => {
    const filter = { endpointUid: "uid3", tenantId: "ten_7" };
    const attempts = await planOf("attempts", async () =>
      prisma.attempt.findMany({
        where: await attemptWhere(app(), actor, filter),
        orderBy: { id: "desc" },
        take: 501,
      }),
    );
    expect(seqScans(attempts)).toEqual([]);
    expect(attempts).toMatch(/"Index Name":"attempts_endpoint_id_\w+_idx"/);
    const deliveries = await planOf("deliveries", async () =>
      prisma.delivery.findMany({
        where: await deliveryWhere(app(), actor, filter),
        orderBy: { id: "desc" },
        take: 501,
      }),
    );
    expect(seqScans(deliveries)).toEqual([]);
    expect(deliveries).toMatch(/"Index Name":"deliveries_endpoint_id_\w+_idx"/);
  });

  it("deliveries of one event type in one tenant: by (tenant_id, event_type, id)", async () => {
    const where = await deliveryWhere(app(), actor, { eventType: "type.3", tenantId: "ten_3" });
    const plan = await planOf("deliveries", () =>
      prisma.delivery.findMany({ where, orderBy: { id: "desc" }, take: 101 }),
    );
    expect(plan).toContain("deliveries_tenant_id_event_type_id_idx");
    expect(seqScans(plan)).toEqual([]);
  });
});

type PlanNode = { "Node Type": string; "Relation Name"?: string; Plans?: PlanNode[] };

/** Tables the plan reads whole. */
function seqScans(planJson: string): string[] {
  const out: string[] = [];
  const walk = (node: PlanNode) => {
    if (node["Node Type"] === "Seq Scan") out.push(node["Relation Name"] ?? "?");
    for (const child of node.Plans ?? []) walk(child);
  };
  for (const entry of JSON.parse(planJson) as { Plan: PlanNode }[]) walk(entry.Plan);
  return out;
}
