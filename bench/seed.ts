/**
 * Bulk rows for the growth and memory phases, written straight into the tables with generate_series while
 * Hookgate is stopped (its own process owns a PGlite data dir while it runs). Started by bench/run.ts:
 *
 *   old:     COUNT succeeded deliveries (with one attempt each, as the dispatcher stores it: redacted request
 *            headers, no request body, since the event holds the envelope) spread over the last 30 days across
 *            the given endpoints: "history" that every query on deliveries/attempts has to live with. Attempts
 *            with a body would leave gaps in their pages that later, smaller attempts fill: every new attempt
 *            then lands on an old page (a full-page image in the WAL after each checkpoint), which
 *            attempts all written the same way do not.
 *   backlog: COUNT deliveries due now (PENDING, next_attempt_at = now()) to the given endpoints, whose
 *            receiver is down.
 *
 * One event per FANOUT deliveries, like a real fan-out. Batches of 100,000 rows, one transaction each.
 */
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { samplePayload } from "./lib/payload.js";
import { nowMs, serveRpc } from "./lib/rpc.js";

interface Params {
  kind: "old" | "backlog";
  databaseUrl?: string;
  /** PGlite: Hookgate's data dir (the database is in <dir>/pgdata). */
  dataDir?: string;
  count: number;
  /** Endpoint ids the rows belong to (deliveries are spread round-robin). */
  endpointIds: string[];
  eventType: string;
  /** Id prefix so that several seedings never collide. */
  tag: string;
}

type Exec = (sql: string, params: unknown[]) => Promise<any[]>;

async function seed(p: Params): Promise<{ ms: number; rows: number }> {
  const t0 = nowMs();
  let exec: Exec;
  let close: () => Promise<void>;
  if (p.databaseUrl) {
    const client = new pg.Client({ connectionString: p.databaseUrl });
    await client.connect();
    exec = async (sql, params) => (await client.query(sql, params)).rows;
    close = () => client.end();
  } else {
    const db = await PGlite.create(`${p.dataDir}/pgdata`);
    exec = async (sql, params) => (await db.query(sql, params)).rows;
    close = () => db.close();
  }
  try {
    const rows = await exec("SELECT tenant_id FROM endpoints WHERE id = $1", [p.endpointIds[0]]);
    if (rows.length === 0) throw new Error(`endpoint ${p.endpointIds[0]} not found`);
    const tenant: string = rows[0].tenant_id;
    const fanout = p.endpointIds.length;
    const payload = JSON.stringify(samplePayload(1, Date.now()));
    const headers = JSON.stringify({
      "content-type": "application/json",
      "user-agent": "Hookgate/0.1.0",
      "webhook-id": "evt_seed",
      "webhook-timestamp": "1735732800",
      "webhook-signature": "[redacted]",
      "hookgate-signature": "[redacted]",
    });
    const batch = 100_000;
    for (let from = 0; from < p.count; from += batch) {
      const to = Math.min(p.count, from + batch) - 1;
      const ev = `${p.tag}_`;
      // Events: one per `fanout` deliveries.
      const evFrom = Math.floor(from / fanout);
      const evTo = Math.floor(to / fanout);
      const span = p.count; // spread created_at over 30 days
      await exec("BEGIN", []);
      if (p.kind === "old") {
        // Events spread over the last 30 days, like their deliveries.
        await exec(
          `INSERT INTO events (id, tenant_id, type, payload, test, created_at)
           SELECT 'evt_${ev}' || lpad(g::text, 9, '0'), $1, $2, $3::jsonb, false,
                  now() - interval '30 days' + (g * $4::int) * interval '1 millisecond' * (2592000000 / $5::float8)
           FROM generate_series($6::int, $7::int) g
           ON CONFLICT DO NOTHING`,
          [tenant, p.eventType, payload, fanout, span, evFrom, evTo],
        );
      } else {
        await exec(
          `INSERT INTO events (id, tenant_id, type, payload, test, created_at)
           SELECT 'evt_${ev}' || lpad(g::text, 9, '0'), $1, $2, $3::jsonb, false, now()
           FROM generate_series($4::int, $5::int) g
           ON CONFLICT DO NOTHING`,
          [tenant, p.eventType, payload, evFrom, evTo],
        );
      }
      if (p.kind === "old") {
        await exec(
          `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, status, attempt_count,
                                   next_attempt_at, trigger, last_attempt_at, created_at, updated_at)
           SELECT 'dlv_${ev}' || lpad(g::text, 10, '0'), 'evt_${ev}' || lpad((g / $1::int)::text, 9, '0'),
                  ($2::text[])[1 + g % $1::int], $3, $4, 'SUCCEEDED', 1, NULL, 'SCHEDULED', t, t, t
           FROM generate_series($5::int, $6::int) g,
                LATERAL (SELECT now() - interval '30 days' + g * interval '1 millisecond' * (2592000000 / $7::float8) AS t) x`,
          [fanout, p.endpointIds, tenant, p.eventType, from, to, span],
        );
        await exec(
          `INSERT INTO attempts (id, delivery_id, endpoint_id, attempt_number, url, status, trigger, request_headers,
                                 request_body, response_code, response_body, duration_ms, created_at)
           SELECT 'att_${ev}' || lpad(g::text, 10, '0'), 'dlv_${ev}' || lpad(g::text, 10, '0'),
                  ($1::text[])[1 + g % $2::int], 1, 'http://127.0.0.1/old', 'SUCCEEDED', 'SCHEDULED', $3::jsonb,
                  NULL, 200, '', 3 + g % 40,
                  now() - interval '30 days' + g * interval '1 millisecond' * (2592000000 / $4::float8)
           FROM generate_series($5::int, $6::int) g`,
          [p.endpointIds, fanout, headers, span, from, to],
        );
      } else {
        await exec(
          `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, event_type, status, attempt_count,
                                   next_attempt_at, trigger, created_at, updated_at)
           SELECT 'dlv_${ev}' || lpad(g::text, 10, '0'), 'evt_${ev}' || lpad((g / $1::int)::text, 9, '0'),
                  ($2::text[])[1 + g % $1::int], $3, $4, 'PENDING', 0, now(), 'SCHEDULED', now(), now()
           FROM generate_series($5::int, $6::int) g`,
          [fanout, p.endpointIds, tenant, p.eventType, from, to],
        );
      }
      await exec("COMMIT", []);
    }
    // A backlog is VACUUMed too: each round of the peer phase then starts without the dead row versions
    // the round before left (the peer's queue gets the same, bench/peer-phase.ts).
    await exec(p.kind === "backlog" ? "VACUUM ANALYZE" : "ANALYZE", []);
    return { ms: nowMs() - t0, rows: p.count };
  } finally {
    await close();
  }
}

serveRpc({ seed });
