import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/domain/app.js";
import { writeCheckedEvent } from "../../src/domain/event-checked-writes.js";
import { cachedTargets, TARGETS_CACHE_MAX, targetsScope } from "../../src/domain/event-targets.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { countRows } from "../support/matrix.js";
import { createEndpoint, createEventType, publish } from "./delivery-fixtures.js";

/*
 * publishEvent reads an event type's targets (the type and its matching endpoints) once per process and
 * then from a cache whose answer the writing statement checks. Every change below is made after the cache
 * holds the answer, and the next publish must see it: the cache has no other invalidation, so a change made
 * through this process proves the same as one made through another.
 */
const UPDATE_TYPE = `mutation($id: ID!, $input: UpdateEventTypeInput!) {
  updateEventType(id: $id, input: $input) { __typename ... on Error { message } } }`;
const UPDATE_ENDPOINT = `mutation($id: ID!, $input: UpdateEndpointInput!) {
  updateEndpoint(id: $id, input: $input) { __typename ... on Error { message } } }`;
const DELETE_ENDPOINT = `mutation($id: ID!) { deleteEndpoint(id: $id) { __typename ... on Error { message } } }`;

/**
 * Runs fn while recording the name (or first 40 characters) of every statement app.db runs, then puts the
 * database's own query back.
 */
async function recordingStatements<T>(app: App, fn: (statements: string[]) => Promise<T>): Promise<T> {
  const statements: string[] = [];
  const query = app.db.query;
  const recording = <R>(sql: string, params?: unknown[], prepareAs?: string) => {
    statements.push(prepareAs ?? sql.trim().slice(0, 40));
    return query.call<typeof app.db, [string, unknown[] | undefined, string | undefined], Promise<R[]>>(
      app.db,
      sql,
      params,
      prepareAs,
    );
  };
  (app.db as { query: typeof query }).query = recording;
  try {
    return await fn(statements);
  } finally {
    (app.db as { query: typeof query }).query = query;
  }
}
const INSERT_CHECKED = "hookgate_insert_checked_events";

describe("publishEvent's cache of event types and endpoints", () => {
  let h: TestHookgate;

  beforeAll(async () => {
    h = await startTestHookgate();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const mutate = async (query: string, variables: Record<string, unknown>) => {
    const data = ok(await h.gql(query, variables));
    const result = Object.values(data)[0] as { __typename: string; message?: string };
    expect(result.message).toBeUndefined();
  };
  const deliveredTo = async (eventId: string) =>
    (
      await h.hookgate.app.db.query<{ endpoint_id: string }>(
        "SELECT endpoint_id FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id",
        [eventId],
      )
    ).map((r) => r.endpoint_id);

  it("an endpoint created, disabled or deleted after the cache was filled counts at the next publish", async () => {
    await createEventType(h, "cache.endpoints");
    const a = await createEndpoint(h, "http://127.0.0.1:9/a", { events: ["cache.endpoints"] });
    const first = await publish(h, "cache.endpoints", { n: 1 });
    expect(await deliveredTo(first.event.id)).toEqual([a.id]);

    const b = await createEndpoint(h, "http://127.0.0.1:9/b", { events: ["cache.*"] });
    const second = await publish(h, "cache.endpoints", { n: 2 });
    expect(second.deliveryCount).toBe(2);
    expect(await deliveredTo(second.event.id)).toEqual([a.id, b.id].sort());

    await mutate(UPDATE_ENDPOINT, { id: a.id, input: { status: "DISABLED" } });
    const third = await publish(h, "cache.endpoints", { n: 3 });
    expect(await deliveredTo(third.event.id)).toEqual([b.id]);

    await mutate(DELETE_ENDPOINT, { id: b.id });
    const fourth = await publish(h, "cache.endpoints", { n: 4 });
    expect(fourth.deliveryCount).toBe(0);
    // Each stale answer wrote nothing: four events, one per publish.
    const events = await h.hookgate.app.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE type = 'cache.endpoints'",
    );
    expect(events[0]!.n).toBe(4);
  });

  it("a type deprecated, or its schema changed, after the cache was filled counts at the next publish", async () => {
    const type = await createEventType(h, "cache.type", {
      type: "object",
      properties: { n: { type: "integer" } },
    });
    await createEndpoint(h, "http://127.0.0.1:9/t", { events: ["cache.type"] });
    expect((await publish(h, "cache.type", { n: 1 })).__typename).toBe("PublishEventPayload");
    expect((await publish(h, "cache.type", { n: "x" })).__typename).toBe("ValidationError");

    // Stricter: the cached schema would accept this payload; the write notices and it is refused.
    await mutate(UPDATE_TYPE, {
      id: type.id,
      input: { schema: { type: "object", properties: { n: { type: "integer", maximum: 5 } } } },
    });
    const before = await countRows(h);
    const refused = await publish(h, "cache.type", { n: 9 });
    expect(refused.__typename).toBe("ValidationError");
    expect(refused.fieldErrors[0].path).toBe("input.payload.n");
    expect(await countRows(h)).toEqual(before);

    // Looser: a payload the cached schema refused is accepted.
    await mutate(UPDATE_TYPE, { id: type.id, input: { schema: null } });
    expect((await publish(h, "cache.type", { n: "x" })).__typename).toBe("PublishEventPayload");

    await mutate(UPDATE_TYPE, { id: type.id, input: { deprecated: true } });
    const deprecated = await publish(h, "cache.type", { n: 1 });
    expect(deprecated.__typename).toBe("ValidationError");
    expect(deprecated.fieldErrors[0].message).toBe('The event type "cache.type" is deprecated');

    await mutate(UPDATE_TYPE, { id: type.id, input: { deprecated: false } });
    expect((await publish(h, "cache.type", { n: 1 })).__typename).toBe("PublishEventPayload");
  });

  it("concurrent publishes of one type share statements; each gets its own event, deliveries and key", async () => {
    await createEventType(h, "cache.together");
    const endpoints = [
      await createEndpoint(h, "http://127.0.0.1:9/x", { events: ["cache.together"] }),
      await createEndpoint(h, "http://127.0.0.1:9/y", { events: ["cache.*"] }),
    ];
    await publish(h, "cache.together", { n: -1 }); // fills the cache
    const app = h.hookgate.app;
    const n = 40;
    const { results, inserts } = await recordingStatements(app, async (statements) => ({
      results: (await Promise.all([
        ...Array.from({ length: n }, (_, i) => publish(h, "cache.together", { n: i })),
        // Two publishes of one key in the same crowd: one event, both get it.
        publish(h, "cache.together", { k: 1 }, { idempotencyKey: "together-key" }),
        publish(h, "cache.together", { k: 1 }, { idempotencyKey: "together-key" }),
      ])) as any[],
      inserts: statements.filter((s) => s === INSERT_CHECKED).length,
    }));
    expect(results.every((r) => r.__typename === "PublishEventPayload" && r.deliveryCount === 2)).toBe(true);
    expect(results.slice(0, n).map((r) => r.event.payload.n)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(new Set(results.slice(0, n).map((r) => r.event.id)).size).toBe(n);
    expect(results[n].event.id).toBe(results[n + 1].event.id);
    expect(inserts).toBeLessThanOrEqual(n + 1);
    const rows = await app.db.query<{ event_id: string; endpoints: string[] }>(
      `SELECT event_id, array_agg(endpoint_id ORDER BY endpoint_id) AS endpoints FROM deliveries
        WHERE event_id = ANY($1::text[]) GROUP BY event_id`,
      [results.map((r) => r.event.id)],
    );
    expect(rows).toHaveLength(n + 1);
    const want = endpoints.map((e) => e.id).sort();
    expect(rows.every((r) => JSON.stringify(r.endpoints) === JSON.stringify(want))).toBe(true);
    const keyed = await app.db.query("SELECT id FROM events WHERE idempotency_key = 'together-key'");
    expect(keyed).toHaveLength(1);
  });

  it("writes that wait behind a running statement of their (tenant, type) go together in the next", async () => {
    const app = h.hookgate.app;
    const [root] = await app.db.query<{ id: string; path: string }>(
      "SELECT id, path FROM tenants WHERE parent_id IS NULL",
    );
    await createEventType(h, "cache.queue");
    await createEndpoint(h, "http://127.0.0.1:9/q", { events: ["cache.queue"] });
    const lookup = cachedTargets(app);
    await lookup(root!, "cache.queue");
    const found = await lookup(root!, "cache.queue");
    expect(found.cached).toBeDefined();
    // Ten writes in one tick: the first starts a statement, the nine others wait and share the next.
    const { outcomes, inserts } = await recordingStatements(app, async (statements) => ({
      outcomes: await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          writeCheckedEvent(app, {
            tenantId: root!.id,
            type: "cache.queue",
            payloadJson: JSON.stringify({ i }),
            idempotencyKey: i === 9 ? "queue-key" : null,
            test: false,
            trigger: "SCHEDULED",
            endpointIds: found.endpointIds,
            check: { cached: found.cached!, scope: targetsScope(root!, "cache.queue") },
          }),
        ),
      ),
      inserts: statements.filter((s) => s === INSERT_CHECKED).length,
    }));
    expect(inserts).toBe(2);
    const fanout = found.endpointIds.length;
    expect(outcomes.every((o) => o !== null && o !== "stale" && o.delivery_count === fanout)).toBe(true);
    const stored = await app.db.query<{ payload: { i: number } }>(
      "SELECT payload FROM events WHERE id = ANY($1::text[]) ORDER BY payload->>'i'",
      [outcomes.map((o) => (o as { id: string }).id)],
    );
    expect(stored.map((r) => r.payload.i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    );
  });

  it("saves publishEvent's lookup round trip; holds at most TARGETS_CACHE_MAX (tenant, type) entries", async () => {
    const app = h.hookgate.app;
    await recordingStatements(app, async (statements) => {
      await createEventType(h, "cache.trips");
      await createEndpoint(h, "http://127.0.0.1:9/r", { events: ["cache.trips"] });
      const traced = async (fn: () => Promise<unknown>) => {
        statements.length = 0;
        await fn();
        return statements.filter((s) => /^hookgate_(publish|insert)/.test(s));
      };
      const first = await traced(() => publish(h, "cache.trips", { n: 1 }));
      expect(first).toEqual(["hookgate_publish_targets", "hookgate_insert_event"]);
      const second = await traced(() => publish(h, "cache.trips", { n: 2 }));
      expect(second).toEqual([INSERT_CHECKED]);

      // Fill the cache past its bound with other types: the first entry is evicted and read again.
      const [root] = await app.db.query<{ id: string; path: string }>(
        "SELECT id, path FROM tenants WHERE parent_id IS NULL",
      );
      await app.db.query(
        `INSERT INTO event_types (id, tenant_id, name, description, deprecated, created_at, updated_at)
         SELECT 'et_cachefill' || i, $1, 'cache.fill' || i, '', false, now(), now()
           FROM generate_series(1, $2::int) AS i`,
        [root!.id, TARGETS_CACHE_MAX],
      );
      const lookup = cachedTargets(app);
      for (let i = 1; i <= TARGETS_CACHE_MAX; i++) await lookup(root!, `cache.fill${i}`);
      const evicted = await traced(() => publish(h, "cache.trips", { n: 3 }));
      expect(evicted).toEqual(["hookgate_publish_targets", "hookgate_insert_event"]);
      // The last TARGETS_CACHE_MAX - 1 fills and cache.trips are held: no read for them.
      statements.length = 0;
      const reads = () => statements.filter((s) => s === "hookgate_publish_targets");
      for (let i = 2; i <= TARGETS_CACHE_MAX; i++) await lookup(root!, `cache.fill${i}`);
      expect(reads()).toEqual([]);
      await lookup(root!, "cache.fill1");
      expect(reads()).toEqual(["hookgate_publish_targets"]);
    });
  }, 60_000);
});
