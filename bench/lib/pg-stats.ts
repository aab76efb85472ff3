/**
 * What PostgreSQL did during a phase, from its statistics views: the top statements' cost per unit of work
 * (pg_stat_statements, where the server has it loaded: the bench's own cluster does) and the row updates of
 * a table and how many were HOT (pg_stat_user_tables). Both read through their own connection.
 */
import pg from "pg";
import { round } from "./stats.js";

export interface TableUpdates {
  table: string;
  updates: number;
  hotUpdates: number;
  hotRatio: number | null;
}

export interface StatementCost {
  query: string;
  callsPerDelivery: number;
  execMicrosPerDelivery: number;
  walBytesPerDelivery: number;
}

/**
 * Counts the updates of `table` (and how many were HOT) from now until read(): pg_stat_user_tables as
 * seen by a fresh session each time (a backend reports its counts at the end of its transactions, at
 * most once a second, so read() waits that out). A figure that does not depend on the machine's load.
 */
export async function tableUpdateMeter(url: string | undefined, table: string) {
  const sample = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const r = await client.query<{ upd: string; hot: string }>(
        "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = $1",
        [table],
      );
      return { upd: Number(r.rows[0]?.upd ?? 0), hot: Number(r.rows[0]?.hot ?? 0) };
    } finally {
      await client.end().catch(() => {});
    }
  };
  if (!url) return { read: async (): Promise<TableUpdates | null> => null };
  const before = await sample().catch(() => null);
  return {
    async read(): Promise<TableUpdates | null> {
      if (!before) return null;
      await new Promise((r) => setTimeout(r, 1_500));
      const after = await sample().catch(() => null);
      if (!after) return null;
      const updates = after.upd - before.upd;
      const hotUpdates = after.hot - before.hot;
      return { table, updates, hotUpdates, hotRatio: updates > 0 ? round(hotUpdates / updates, 3) : null };
    },
  };
}

/** Resets pg_stat_statements (when the server has it loaded); returns a reader of the costs since. */
export async function statementMeter(url: string | undefined) {
  if (!url) return { read: async (_n: number) => null };
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await client.query("SELECT pg_stat_statements_reset()");
  } catch {
    await client.end().catch(() => {});
    return { read: async (_n: number) => null };
  }
  return {
    async read(n: number): Promise<StatementCost[] | null> {
      try {
        const r = await client.query<{ query: string; calls: string; ms: number; wal: string }>(
          // The first row sums every statement (the top ones below are part of it).
          `SELECT '(all statements)' AS query, sum(calls) AS calls, sum(total_exec_time) AS ms, sum(wal_bytes) AS wal
             FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
           UNION ALL
           (SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160), calls, total_exec_time, wal_bytes
              FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 8)`,
        );
        return r.rows.map((x) => ({
          query: x.query,
          callsPerDelivery: round(Number(x.calls) / n, 3) as number,
          execMicrosPerDelivery: round((x.ms * 1000) / n, 1) as number,
          walBytesPerDelivery: round(Number(x.wal) / n, 0) as number,
        }));
      } catch {
        return null;
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/**
 * Runs one maintenance statement (VACUUM ANALYZE, CHECKPOINT) on its own connection, so that a measured
 * run starts from the same state of the cluster as the run it is compared with.
 */
export async function maintain(url: string, sql: "VACUUM ANALYZE" | "CHECKPOINT"): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
