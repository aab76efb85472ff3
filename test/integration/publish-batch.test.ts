import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { countRows, expectNothingChanged } from "../support/matrix.js";
import { createEndpoint, createEventType, publish, until } from "./delivery-fixtures.js";

/*
 * publishEvents (1–100 events, one transaction, all or nothing, one result per input) and
 * idempotency keys: the same key with the same type and payload is the original event; with
 * another type or payload a ConflictError naming the original.
 */
const BATCH = `mutation($events: [PublishEventInput!]!) { publishEvents(input: { events: $events }) {
  __typename
  ... on PublishEventsPayload { results { index duplicate deliveryCount event { id type idempotencyKey } } }
  ... on ValidationError { message fieldErrors { path message } }
  ... on ConflictError { message path }
} }`;

describe("publishEvents and idempotency conflicts", () => {
  let h: TestHookgate;

  beforeAll(async () => {
    h = await startTestHookgate();
    await createEventType(h, "order.placed", {
      type: "object",
      properties: { n: { type: "integer" } },
      required: ["n"],
    });
    await createEventType(h, "order.shipped");
    await createEndpoint(h, "http://127.0.0.1:9/hook", { events: ["order.*"] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const batch = async (events: unknown[]) => ok(await h.gql(BATCH, { events })).publishEvents;
  const placed = (n: number, extra: object = {}) => ({ type: "order.placed", payload: { n }, ...extra });

  it("100 events: all written in one call, one result per input in order", async () => {
    const before = await countRows(h);
    const res = await batch(Array.from({ length: 100 }, (_, i) => placed(i)));
    expect(res.__typename).toBe("PublishEventsPayload");
    expect(res.results).toHaveLength(100);
    expect(res.results.map((r: any) => r.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(res.results.every((r: any) => !r.duplicate && r.deliveryCount === 1)).toBe(true);
    const after = await countRows(h);
    expect(after.events - before.events).toBe(100);
    expect(after.deliveries - before.deliveries).toBe(100);
    const stored = await h.hookgate.app.prisma.event.findUniqueOrThrow({
      where: { id: res.results[42].event.id },
    });
    expect(stored.payload).toEqual({ n: 42 });
  });

  it("101 events and 0 events are refused, naming the limit; nothing is written", async () => {
    for (const n of [101, 0]) {
      const res = await expectNothingChanged(h, () => batch(Array.from({ length: n }, (_, i) => placed(i))));
      expect(res.__typename).toBe("ValidationError");
      expect(res.fieldErrors).toEqual([
        {
          path: "input.events",
          message: `events must hold 1 to 100 events, got ${n}; publish more in several calls`,
        },
      ]);
    }
  });

  it("one bad event refuses the whole batch, each problem at its own path", async () => {
    const res = await expectNothingChanged(h, () =>
      batch([
        placed(1),
        { type: "order.placed", payload: { n: "not a number" } },
        placed(3),
        { type: "no.such", payload: {} },
      ]),
    );
    expect(res.__typename).toBe("ValidationError");
    expect(res.fieldErrors.map((e: any) => e.path)).toEqual([
      "input.events.1.payload.n",
      "input.events.3.type",
    ]);
  });

  it("publishEvent: same key, type and payload → the original; another payload or type → ConflictError naming it", async () => {
    const first = await publish(h, "order.placed", { n: 7 }, { idempotencyKey: "k-7" });
    expect(first.__typename).toBe("PublishEventPayload");
    const again = await publish(h, "order.placed", { n: 7 }, { idempotencyKey: "k-7" });
    expect(again.event.id).toBe(first.event.id);
    expect(again.deliveryCount).toBe(1);

    const otherPayload = await expectNothingChanged(h, () =>
      publish(h, "order.placed", { n: 8 }, { idempotencyKey: "k-7" }),
    );
    expect(otherPayload).toMatchObject({ __typename: "ConflictError", code: "CONFLICT" });
    expect(otherPayload.message).toBe(
      `The idempotency key k-7 was used for event ${first.event.id} with a different payload; use a new key for a new event`,
    );
    const otherType = await expectNothingChanged(h, () =>
      publish(h, "order.shipped", { n: 7 }, { idempotencyKey: "k-7" }),
    );
    expect(otherType.message).toContain(`event ${first.event.id} with a different type`);
  });

  it("publishEvents: keys seen before or earlier in the batch are duplicates; a mismatch refuses the batch", async () => {
    const first = await publish(h, "order.placed", { n: 9 }, { idempotencyKey: "k-9" });
    const res = await batch([
      placed(9, { idempotencyKey: "k-9" }),
      placed(10, { idempotencyKey: "k-10" }),
      placed(10, { idempotencyKey: "k-10" }),
    ]);
    expect(res.results.map((r: any) => r.duplicate)).toEqual([true, false, true]);
    expect(res.results[0].event.id).toBe(first.event.id);
    expect(res.results[2].event.id).toBe(res.results[1].event.id);
    expect(await h.hookgate.app.prisma.event.count({ where: { idempotencyKey: "k-10" } })).toBe(1);

    const clash = await expectNothingChanged(h, () =>
      batch([placed(11, { idempotencyKey: "k-11" }), placed(12, { idempotencyKey: "k-11" })]),
    );
    expect(clash).toMatchObject({ __typename: "ConflictError", path: "input.events.1.idempotencyKey" });
    const earlier = await expectNothingChanged(h, () =>
      batch([placed(13), placed(99, { idempotencyKey: "k-9" })]),
    );
    expect(earlier.__typename).toBe("ConflictError");
    expect(earlier.message).toContain(first.event.id);
    expect(earlier.path).toBe("input.events.1.idempotencyKey");
  });

  it("a batch of several types: each event goes to the endpoints of its own type", async () => {
    await createEndpoint(h, "http://127.0.0.1:9/shipped", { events: ["order.shipped"] });
    const res = await batch([
      placed(20),
      { type: "order.shipped", payload: { n: 21 } },
      placed(22),
      { type: "order.shipped", payload: { n: 23 } },
    ]);
    expect(res.results.map((r: any) => [r.event.type, r.deliveryCount])).toEqual([
      ["order.placed", 1],
      ["order.shipped", 2],
      ["order.placed", 1],
      ["order.shipped", 2],
    ]);
    const rows = await h.hookgate.app.db.query<{ event_id: string; n: number }>(
      "SELECT event_id, count(*)::int AS n FROM deliveries WHERE event_id = ANY($1::text[]) GROUP BY event_id",
      [res.results.map((r: any) => r.event.id)],
    );
    expect(new Map(rows.map((r) => [r.event_id, r.n]))).toEqual(
      new Map(res.results.map((r: any) => [r.event.id, r.deliveryCount])),
    );
  });

  // Needs a second connection holding a transaction open: PGlite has one connection.
  it.runIf(process.env.HOOKGATE_TEST_DB === "postgres")(
    "a key taken by a concurrent publish while the batch writes: the batch is retried and returns that event",
    async () => {
      const other = new pg.Client({ connectionString: h.database.url! });
      await other.connect();
      try {
        const [{ id: tenantId }] = (await other.query("SELECT id FROM tenants WHERE parent_id IS NULL")).rows;
        await other.query("BEGIN");
        await other.query(
          `INSERT INTO events (id, tenant_id, type, payload, idempotency_key, test, created_at)
           VALUES ('evt_racewinner', $1, 'order.placed', '{"n":30}', 'k-race', false, now())`,
          [tenantId],
        );
        const before = await countRows(h);
        // The batch cannot see the uncommitted event: it writes, and waits on the unique index.
        const pending = batch([placed(31), placed(30, { idempotencyKey: "k-race" })]);
        await until(
          async () =>
            (
              await other.query(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid'",
              )
            ).rowCount === 1,
          10_000,
          () => "the batch waits for the other transaction",
        );
        await other.query("COMMIT");
        const res = await pending;
        expect(res.__typename).toBe("PublishEventsPayload");
        expect(res.results.map((r: any) => r.duplicate)).toEqual([false, true]);
        expect(res.results[1].event.id).toBe("evt_racewinner");
        // The first attempt wrote nothing: one event (the batch's first) and its delivery, once.
        const after = await countRows(h);
        expect(after.events - before.events).toBe(2);
        expect(after.deliveries - before.deliveries).toBe(1);
      } finally {
        await other.query("ROLLBACK").catch(() => {});
        await other.end();
      }
    },
  );

  it("needs EVENTS_PUBLISH, and a tenantId the key cannot reach is not found", async () => {
    const res = await h.gql(BATCH, { events: [placed(1, { tenantId: "ten_nope" })] });
    expect(ok(res).publishEvents.__typename).toBe("NotFoundError");
  });
});
