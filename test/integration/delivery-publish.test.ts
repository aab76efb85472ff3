import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishEvent } from "../../src/domain/events.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  deliveriesOf,
  PUBLISH,
  publish,
  type Receiver,
  startReceiver,
  waitForStatus,
} from "./delivery-fixtures.js";

async function createTenant(h: TestHookgate, name: string, parentId?: string) {
  const res = ok(
    await h.gql(
      `mutation($input: CreateTenantInput!) { createTenant(input: $input) {
        ... on CreateTenantPayload { tenant { id } } ... on Error { message } } }`,
      { input: { name, parentId } },
    ),
  );
  return res.createTenant.tenant.id as string;
}

async function createKey(h: TestHookgate, scopes: string[], tenantId?: string) {
  const res = ok(
    await h.gql(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
        ... on CreateApiKeyPayload { key } ... on Error { message } } }`,
      { input: { name: "k", scopes, tenantId } },
    ),
  );
  return res.createApiKey.key as string;
}

describe("publishEvent: validation and idempotency", () => {
  let h: TestHookgate;
  let rx: Receiver;
  beforeAll(async () => {
    // No dispatcher: these tests look at what publish writes.
    h = await startTestHookgate({ role: "api", config: { maxPayloadBytes: 100 } });
    rx = await startReceiver();
    await createEventType(h, "order.created", {
      type: "object",
      required: ["amount"],
      properties: {
        amount: { type: "integer" },
        items: { type: "array", items: { type: "string" } },
        "a/b": { type: "string" },
      },
    });
    await createEventType(h, "free.form");
    await createEndpoint(h, rx.url, { events: ["*"] });
  });
  afterAll(async () => {
    await h?.stop();
    await rx?.close();
  });

  it("refuses unknown and deprecated types at input.type", async () => {
    const unknown = await publish(h, "no.such", {});
    expect(unknown.__typename).toBe("ValidationError");
    expect(unknown.fieldErrors).toEqual([{ path: "input.type", message: 'Unknown event type "no.such"' }]);

    const et = await createEventType(h, "old.thing");
    ok(
      await h.gql(
        `mutation($id: ID!) { updateEventType(id: $id, input: { deprecated: true }) { __typename } }`,
        { id: et.id },
      ),
    );
    const deprecated = await publish(h, "old.thing", {});
    expect(deprecated.__typename).toBe("ValidationError");
    expect(deprecated.fieldErrors[0].path).toBe("input.type");
    expect(deprecated.fieldErrors[0].message).toContain("deprecated");
  });

  it("validates the payload against the type's schema, one field error per problem", async () => {
    const res = await publish(h, "order.created", { items: ["a", 2, "c", 4], "a/b": 1 });
    expect(res.__typename).toBe("ValidationError");
    const paths = res.fieldErrors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual([
      "input.payload",
      "input.payload.a/b",
      "input.payload.items.1",
      "input.payload.items.3",
    ]);
    const good = await publish(h, "order.created", { amount: 5, items: ["x"] });
    expect(good.__typename).toBe("PublishEventPayload");
    expect(good.event.payload).toEqual({ amount: 5, items: ["x"] });
  });

  it("limits the serialised payload to maxPayloadBytes: exactly at the limit is fine, one byte more is not", async () => {
    const at = { s: "x".repeat(100 - '{"s":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(at))).toBe(100);
    expect((await publish(h, "free.form", at)).__typename).toBe("PublishEventPayload");
    const over = { s: "x".repeat(101 - '{"s":""}'.length) };
    const res = await publish(h, "free.form", over);
    expect(res.__typename).toBe("ValidationError");
    expect(res.fieldErrors[0].path).toBe("input.payload");
    // Bytes, not characters: 46 two-byte characters + 8 = 100 bytes is fine, 47 is not.
    expect((await publish(h, "free.form", { s: "é".repeat(46) })).__typename).toBe("PublishEventPayload");
    expect((await publish(h, "free.form", { s: "é".repeat(47) })).__typename).toBe("ValidationError");
  });

  it("refuses what Postgres cannot store (NUL characters)", async () => {
    const res = await publish(h, "free.form", { s: "a\u0000b" });
    expect(res.__typename).toBe("ValidationError");
    expect(res.fieldErrors[0].message).toContain("NUL");
  });

  it("limits idempotency keys to 255 characters and refuses empty ones", async () => {
    expect((await publish(h, "free.form", {}, { idempotencyKey: "k".repeat(255) })).__typename).toBe(
      "PublishEventPayload",
    );
    const long = await publish(h, "free.form", {}, { idempotencyKey: "k".repeat(256) });
    expect(long.__typename).toBe("ValidationError");
    expect(long.fieldErrors[0].path).toBe("input.idempotencyKey");
    const empty = await publish(h, "free.form", {}, { idempotencyKey: "" });
    expect(empty.__typename).toBe("ValidationError");
  });

  it("returns the original event for a repeated idempotency key and creates nothing", async () => {
    const first = await publish(h, "free.form", { v: 1 }, { idempotencyKey: "same-key" });
    expect(first.deliveryCount).toBe(1);
    const rows = async () =>
      (
        await h.hookgate.app.db.query<{ events: number; deliveries: number }>(
          "SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM deliveries) AS deliveries",
        )
      )[0];
    const before = await rows();
    const second = await publish(h, "free.form", { v: 1 }, { idempotencyKey: "same-key" });
    expect(second.event).toEqual(first.event);
    // Another payload under the same key is refused, not dropped silently (publish-batch.test.ts).
    expect((await publish(h, "free.form", { v: 2 }, { idempotencyKey: "same-key" })).__typename).toBe(
      "ConflictError",
    );
    expect(second.deliveryCount).toBe(1);
    // Not one row more anywhere: no event, no delivery.
    expect(await rows()).toEqual(before);
    const events = await h.hookgate.app.db.query("SELECT id FROM events WHERE idempotency_key = 'same-key'");
    expect(events).toHaveLength(1);
    expect(await deliveriesOf(h, first.event.id)).toHaveLength(1);
  });

  it("settles a race on one idempotency key: one event, everyone gets it", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        publish(h, "free.form", { same: true }, { idempotencyKey: "race-key" }),
      ),
    );
    const ids = new Set(results.map((r) => r.event.id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.deliveryCount === 1)).toBe(true);
    const events = await h.hookgate.app.db.query("SELECT id FROM events WHERE idempotency_key = 'race-key'");
    expect(events).toHaveLength(1);
  });

  it("needs the EVENTS_PUBLISH scope", async () => {
    const readOnly = await createKey(h, ["DELIVERIES_READ"]);
    const res = await h.gql(PUBLISH, { input: { type: "free.form", payload: {} } }, readOnly);
    expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const publisher = await createKey(h, ["EVENTS_PUBLISH"]);
    const okRes = ok(await h.gql(PUBLISH, { input: { type: "free.form", payload: {} } }, publisher));
    expect(okRes.publishEvent.__typename).toBe("PublishEventPayload");
  });
});

describe("publishEvent: tenants", () => {
  let h: TestHookgate;
  const rxs: Receiver[] = [];
  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: { retryJitter: 0, allowInsecureUrls: true } });
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all(rxs.map((r) => r.close()));
  });

  it("fans out to the tenant's endpoints and to ancestors' that include child tenants, nobody else", async () => {
    const parent = await createTenant(h, "platform-customer");
    const child = await createTenant(h, "connected-account", parent);
    const sibling = await createTenant(h, "other-account", parent);
    await createEventType(h, "acct.updated"); // root's type: visible to every descendant
    const mk = async (tenantId: string, includeChildTenants: boolean) => {
      const rx = await startReceiver();
      rxs.push(rx);
      await createEndpoint(h, rx.url, { events: ["acct.*"], tenantId, includeChildTenants });
      return rx;
    };
    const parentAll = await mk(parent, true);
    const parentOwn = await mk(parent, false);
    const childOwn = await mk(child, false);
    const siblingOwn = await mk(sibling, true);
    const childKey = await createKey(h, ["EVENTS_PUBLISH"], child);

    const res = await publish(h, "acct.updated", { id: 1 }, {}, childKey);
    expect(res.__typename).toBe("PublishEventPayload");
    expect(res.deliveryCount).toBe(2);
    await parentAll.waitFor(1);
    await childOwn.waitFor(1);
    const dlvs = await deliveriesOf(h, res.event.id);
    for (const d of dlvs) await waitForStatus(h, d.id, "SUCCEEDED");
    expect(parentOwn.requests).toHaveLength(0);
    expect(siblingOwn.requests).toHaveLength(0);
    // Each delivery belongs to its endpoint's tenant (who sees it).
    expect(dlvs.map((d) => d.tenant_id).sort()).toEqual([child, parent].sort());

    // Publishing for the parent from the child's key: not found.
    const denied = await publish(h, "acct.updated", {}, { tenantId: parent }, childKey);
    expect(denied.__typename).toBe("NotFoundError");
    // The parent's admin may publish on behalf of the child.
    const parentKey = await createKey(h, ["EVENTS_PUBLISH"], parent);
    const onBehalf = await publish(h, "acct.updated", { id: 2 }, { tenantId: child }, parentKey);
    expect(onBehalf.deliveryCount).toBe(2);
    // Idempotency keys are per tenant.
    const k1 = await publish(h, "acct.updated", {}, { idempotencyKey: "k" }, childKey);
    const k2 = await publish(h, "acct.updated", {}, { idempotencyKey: "k" }, parentKey);
    expect(k1.event.id).not.toBe(k2.event.id);
  });

  it("delivers a fan-out to 200 endpoints exactly once each", async () => {
    await createEventType(h, "wide.event");
    const rx = await startReceiver();
    rxs.push(rx);
    const n = 200;
    for (let i = 0; i < n; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          createEndpoint(h, `${rx.url}/${i + j}`, { events: ["wide.event"] }),
        ),
      );
    }
    const res = await publish(h, "wide.event", { wide: true });
    expect(res.deliveryCount).toBe(n);
    await rx.waitFor(n, 20_000);
    const dlvs = await deliveriesOf(h, res.event.id);
    for (const d of dlvs) await waitForStatus(h, d.id, "SUCCEEDED");
    const paths = rx.requests.map((r) => r.url);
    expect(new Set(paths).size).toBe(n);
    expect(rx.requests).toHaveLength(n);
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([res.event.id]));
  });
});

describe("publishEvent: fan-out cost", () => {
  let h: TestHookgate;
  beforeAll(async () => {
    h = await startTestHookgate({ role: "api" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("writes an event with 1,000 deliveries in one statement", async () => {
    await createEventType(h, "bulk.event");
    const app = h.hookgate.app;
    const root = (await app.db.query<{ id: string; path: string }>("SELECT id, path FROM tenants"))[0];
    // Endpoints straight into the table: creating 1,000 through the API is not what this is about.
    await app.db.query(
      `INSERT INTO endpoints (id, tenant_id, url, events, updated_at)
       SELECT 'ep_bulk' || lpad(g::text, 5, '0'), $1, 'https://example.com/' || g, ARRAY['bulk.*'], now()
       FROM generate_series(1, 1000) g`,
      [root.id],
    );
    const actor = { keyId: "key_x", tenantId: root.id, tenantPath: root.path, scopes: ["ADMIN" as const] };
    // Correctness only: how fast this is is measured by `npm run bench` (fan-out phase), not here.
    for (let i = 0; i < 15; i++) {
      const res = await publishEvent(app, actor, {
        type: "bulk.event",
        payload: { i, pad: "x".repeat(500) },
      });
      expect(res.deliveryCount).toBe(1000);
    }
    const counts = await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries");
    expect(counts[0].n).toBe(15_000);
  });
});
