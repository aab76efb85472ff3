import { describe, expect, it } from "vitest";
import { PostgresRateWindows } from "../../src/domain/rate-windows.js";
import { TEST_DB, withTestDatabase } from "../support/db.js";

/*
 * On PostgreSQL each rate-limit key has a row of rate_limit_windows. Rows of windows that ended long ago
 * (keys of deleted endpoints, revoked API keys) are removed by the takes themselves, at most once per
 * interval per process. (PGlite keeps its windows in memory and prunes them there.)
 */
describe.skipIf(TEST_DB !== "postgres")("rate-limit windows on PostgreSQL", () => {
  it("removes windows that ended over a minute ago, on the first take and then once per interval", async () => {
    await withTestDatabase(async ({ db }) => {
      const stale = (key: string, agoMs: number) =>
        db.query(
          `INSERT INTO rate_limit_windows (key, window_start, used, granted)
           VALUES ($1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2::bigint, 1, 1)`,
          [key, agoMs],
        );
      const keys = async () =>
        (await db.query<{ key: string }>("SELECT key FROM rate_limit_windows ORDER BY key")).map(
          (r) => r.key,
        );
      await stale("endpoint:deleted", 3_600_000);
      await stale("endpoint:just-ended", 61_000);
      await stale("endpoint:ended-recently", 30_000);

      const windows = new PostgresRateWindows(db, 60_000);
      expect(await windows.take("endpoint:live", 5)).toMatchObject({ granted: 1 });
      await windows.pruned;
      expect(await keys()).toEqual(["endpoint:ended-recently", "endpoint:live"]);

      // Within the interval no other prune runs: a stale window stays until the next one.
      await stale("api-key:revoked", 3_600_000);
      expect(await windows.take("endpoint:live", 5)).toMatchObject({ granted: 1 });
      await windows.pruned;
      expect(await keys()).toContain("api-key:revoked");
      // A window of a key that is taken again starts afresh: pruning lost nothing.
      expect(await windows.take("endpoint:deleted", 1)).toMatchObject({ granted: 1 });
    });
  });
});
