import type { App } from "./app.js";

/**
 * Retention (HOOKGATE_RETENTION): events, their deliveries and those deliveries' attempts are removed
 * once they are older than the retention period, in small batches so that no statement holds many
 * locks for long and the dispatcher's own queries keep their share of the database.
 *
 * What "older" means, and what is never removed:
 * - an event goes when it was created before the cutoff AND none of its deliveries is left;
 * - a delivery goes when its event is older than the cutoff, it is finished (SUCCEEDED, FAILED or
 *   CANCELLED) and it last changed before the cutoff. A delivery that is still due, being sent or
 *   waiting for a retry is NEVER removed, nor (so) its event; a recent replay keeps a delivery too.
 * - attempts go with their delivery (ON DELETE CASCADE).
 * The delivery delete re-checks its conditions on the row it deletes (PostgreSQL re-evaluates the
 * WHERE clause of a DELETE that waited for a concurrent update), so a replay racing retention wins.
 */

/** Runs once an hour in processes with the dispatcher role (and at their start). */
export const RETENTION_INTERVAL_MS = 3600_000;
/** Events examined per batch. */
const BATCH_EVENTS = 500;
/** Serialises runs between dispatcher processes sharing one PostgreSQL. */
const RETENTION_LOCK_KEY = 72707371;

export interface RetentionResult {
  events: number;
  deliveries: number;
  batches: number;
  /** false when another process was already running it (PostgreSQL). */
  ran: boolean;
}

export interface RetentionOptions {
  /** The clock (tests). Default: now. */
  now?: Date;
  batchSize?: number;
  /** Checked between batches: a stopping process ends its run early. */
  shouldStop?: () => boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One retention pass over everything older than the configured period. */
export async function removeExpired(app: App, opts: RetentionOptions = {}): Promise<RetentionResult> {
  const result: RetentionResult = { events: 0, deliveries: 0, batches: 0, ran: false };
  if (app.config.retentionMs <= 0) return result;
  const cutoff = new Date((opts.now ?? new Date()).getTime() - app.config.retentionMs);
  if (app.db.kind === "pglite") {
    // One process owns an embedded database (the data-dir lock): nobody to serialise with.
    await runBatches(app, cutoff, opts, result);
    return result;
  }
  // On PostgreSQL the lock is held by one pooled connection; the batches use the others.
  return app.db.withConnection(async (query) => {
    const [row] = await query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${RETENTION_LOCK_KEY}) AS locked`,
    );
    if (!row?.locked) return result;
    try {
      await runBatches(app, cutoff, opts, result);
    } finally {
      await query(`SELECT pg_advisory_unlock(${RETENTION_LOCK_KEY})`);
    }
    return result;
  });
}

async function runBatches(app: App, cutoff: Date, opts: RetentionOptions, result: RetentionResult) {
  result.ran = true;
  const batchSize = opts.batchSize ?? BATCH_EVENTS;
  // Keyset walk from the oldest event: events that must stay (a delivery still due) are passed
  // over once, not examined again by every batch.
  let after: { createdAt: Date; id: string } | null = null;
  while (!opts.shouldStop?.()) {
    const started = Date.now();
    const events: { id: string; created_at: Date }[] = await app.db.query<{ id: string; created_at: Date }>(
      after
        ? `SELECT id, created_at FROM events WHERE created_at < $1 AND (created_at, id) > ($2, $3)
           ORDER BY created_at, id LIMIT ${batchSize}`
        : `SELECT id, created_at FROM events WHERE created_at < $1 ORDER BY created_at, id LIMIT ${batchSize}`,
      after ? [cutoff, after.createdAt, after.id] : [cutoff],
    );
    if (events.length === 0) break;
    const ids = events.map((e) => e.id);
    const deliveries = await app.db.query<{ id: string }>(
      `DELETE FROM deliveries
        WHERE event_id = ANY($1::text[])
          AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
          AND updated_at < $2
       RETURNING id`,
      [ids, cutoff],
    );
    const removed = await app.db.query<{ id: string }>(
      `DELETE FROM events e
        WHERE e.id = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
       RETURNING id`,
      [ids],
    );
    result.batches += 1;
    result.deliveries += deliveries.length;
    result.events += removed.length;
    const last = events[events.length - 1]!;
    after = { createdAt: last.created_at, id: last.id };
    if (events.length < batchSize) break;
    // Never more than half of the database's time for retention: wait as long as the batch took.
    await sleep(Math.min(1000, Date.now() - started));
  }
}

export interface RetentionSchedule {
  stop(): Promise<void>;
}

/** Runs removeExpired now and then every RETENTION_INTERVAL_MS until stopped; null when off. */
export function scheduleRetention(app: App): RetentionSchedule | null {
  if (app.config.retentionMs <= 0) return null;
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    running = removeExpired(app, { shouldStop: () => stopped })
      .then((r) => {
        if (r.events + r.deliveries > 0) {
          app.logger.info(
            { events: r.events, deliveries: r.deliveries, batches: r.batches },
            "retention removed expired events and deliveries",
          );
        }
      })
      .catch((err: unknown) => app.logger.warn({ err }, "retention run failed; it runs again next hour"))
      .finally(() => {
        running = null;
        if (!stopped) {
          timer = setTimeout(run, RETENTION_INTERVAL_MS);
          timer.unref();
        }
      });
  };
  run();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
