import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  countPrismaOperations,
  createKey,
  createTenant,
  insertAttempt,
  insertDelivery,
  insertEndpoint,
  insertEvent,
  rootTenant,
} from "./read-fixtures.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe("read side: events, deliveries, attempts", () => {
  let h: TestHookgate;
  // Root tenant: endpoint epRoot (includeChildTenants), events e1 (invoice.paid), e2
  // (invoice.failed, test); child tenant: epChild, event e3; sibling tenant: epSibling.
  let s: Awaited<ReturnType<typeof seed>>;

  async function seed() {
    const app = h.hookgate.app;
    const root = await rootTenant(h);
    const child = await createTenant(h, "child");
    const sibling = await createTenant(h, "sibling");
    const epRoot = await insertEndpoint(app, root.id, { includeChildTenants: true });
    const epChild = await insertEndpoint(app, child.id);
    const epSibling = await insertEndpoint(app, sibling.id);
    const e1 = await insertEvent(app, root.id, "invoice.paid", { createdAt: at(0), idempotencyKey: "k-1" });
    const e2 = await insertEvent(app, root.id, "invoice.failed", { createdAt: at(10), test: true });
    const e3 = await insertEvent(app, child.id, "invoice.paid", { createdAt: at(20) });
    const d1 = await insertDelivery(app, e1, epRoot, { status: "SUCCEEDED", createdAt: at(0) });
    const d2 = await insertDelivery(app, e2, epRoot, { status: "FAILED", createdAt: at(10) });
    // e3 belongs to the child but reaches the root's endpoint too (includeChildTenants).
    const d3 = await insertDelivery(app, e3, epChild, { status: "RETRYING", createdAt: at(20) });
    const d4 = await insertDelivery(app, e3, epRoot, { status: "PENDING", createdAt: at(21) });
    const d5 = await insertDelivery(app, e3, epSibling, { status: "SUCCEEDED", createdAt: at(22) });
    const a1 = await insertAttempt(app, d1, 1, "FAILED");
    const a2 = await insertAttempt(app, d1, 2, "SUCCEEDED");
    const a3 = await insertAttempt(app, d3, 1, "FAILED");
    const a4 = await insertAttempt(app, d2, 1, "FAILED");
    const childKey = await createKey(h, child.id, ["DELIVERIES_READ"]);
    const endpointsOnlyKey = await createKey(h, root.id, ["ENDPOINTS_READ"]);
    const publisherKey = await createKey(h, root.id, ["EVENTS_PUBLISH"]);
    return {
      root,
      child,
      sibling,
      epRoot,
      epChild,
      epSibling,
      e1,
      e2,
      e3,
      d1,
      d2,
      d3,
      d4,
      d5,
      a1,
      a2,
      a3,
      a4,
      childKey,
      endpointsOnlyKey,
      publisherKey,
    };
  }

  beforeAll(async () => {
    h = await startTestHookgate();
    s = await seed();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const DELIVERIES = `query($first: Int, $after: String, $filter: DeliveryFilter) {
    deliveries(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id status } }
    }
  }`;

  const ids = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id);

  it("lists deliveries newest first and pages through them with stable cursors", async () => {
    const page1 = ok(await h.gql(DELIVERIES, { first: 2 })).deliveries;
    expect(page1.totalCount).toBe(5);
    expect(ids(page1)).toEqual([s.d5.id, s.d4.id]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = ok(await h.gql(DELIVERIES, { first: 2, after: page1.pageInfo.endCursor })).deliveries;
    expect(ids(page2)).toEqual([s.d3.id, s.d2.id]);
    const page3 = ok(await h.gql(DELIVERIES, { first: 2, after: page2.pageInfo.endCursor })).deliveries;
    expect(ids(page3)).toEqual([s.d1.id]);
    expect(page3.pageInfo.hasNextPage).toBe(false);
    expect(page3.totalCount).toBe(5);
  });

  it("refuses a page larger than the delivery log's maximum of 500, naming it", async () => {
    const res = await h.gql(DELIVERIES, { first: 501 });
    expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0]?.message).toContain("500");
  });

  it("filters deliveries by status (list or single value), endpoint, event, type, time and tenant", async () => {
    const q = async (filter: Record<string, unknown>) => {
      const conn = ok(await h.gql(DELIVERIES, { filter })).deliveries;
      expect(conn.totalCount).toBe(conn.edges.length);
      return ids(conn);
    };
    expect(await q({ status: ["SUCCEEDED", "FAILED"] })).toEqual([s.d5.id, s.d2.id, s.d1.id]);
    // A single enum value is coerced to a one-item list (inline, not through a variable).
    const single = ok(await h.gql(`{ deliveries(filter: { status: RETRYING }) { edges { node { id } } } }`));
    expect(ids(single.deliveries)).toEqual([s.d3.id]);
    expect(await q({ endpointId: s.epRoot.id })).toEqual([s.d4.id, s.d2.id, s.d1.id]);
    expect(await q({ eventId: s.e3.id })).toEqual([s.d5.id, s.d4.id, s.d3.id]);
    expect(await q({ eventType: "invoice.failed" })).toEqual([s.d2.id]);
    expect(await q({ since: at(10).toISOString(), until: at(21).toISOString() })).toEqual([s.d3.id, s.d2.id]);
    expect(await q({ tenantId: s.child.id })).toEqual([s.d3.id]);
    // Exactly that tenant, as EndpointFilter.tenantId: the root's own, not its children's.
    expect(await q({ tenantId: s.root.id })).toEqual([s.d4.id, s.d2.id, s.d1.id]);
    expect(await q({ tenantId: "ten_01J00000000000000000000000" })).toEqual([]);
    expect(await q({ endpointId: s.epRoot.id, status: ["PENDING"] })).toEqual([s.d4.id]);
  });

  it("confines a child tenant's key to its subtree; other ids are simply null", async () => {
    const key = s.childKey;
    const conn = ok(await h.gql(DELIVERIES, {}, key)).deliveries;
    expect(ids(conn)).toEqual([s.d3.id]);
    expect(conn.totalCount).toBe(1);
    // Its parent's tenant id is not visible to it: nothing, not an error.
    expect(ids(ok(await h.gql(DELIVERIES, { filter: { tenantId: s.root.id } }, key)).deliveries)).toEqual([]);

    const one = `query($id: ID!) { delivery(id: $id) { id } event(id: $id) { id } }`;
    expect(ok(await h.gql(one, { id: s.d1.id }, key))).toEqual({ delivery: null, event: null });
    expect(ok(await h.gql(one, { id: s.d3.id }, key)).delivery).toEqual({ id: s.d3.id });
    expect(ok(await h.gql(one, { id: s.e1.id }, key)).event).toBeNull();
    expect(ok(await h.gql(one, { id: s.e3.id }, key)).event).toEqual({ id: s.e3.id });
    expect(ok(await h.gql(one, { id: "not-an-id" }, key))).toEqual({ delivery: null, event: null });

    const attempts = ok(await h.gql(`{ attempts { totalCount edges { node { id } } } }`, {}, key)).attempts;
    expect(ids(attempts)).toEqual([s.a3.id]);

    const events = ok(await h.gql(`{ events { totalCount edges { node { id } } } }`, {}, key)).events;
    expect(ids(events)).toEqual([s.e3.id]);

    // The child's event was delivered to the root's and the sibling's endpoints too; its key
    // sees only its own delivery.
    const ev = ok(
      await h.gql(
        `query($id: ID!) { event(id: $id) { deliveries { totalCount edges { node { id } } } } }`,
        { id: s.e3.id },
        key,
      ),
    ).event;
    expect(ids(ev.deliveries)).toEqual([s.d3.id]);
    expect(ev.deliveries.totalCount).toBe(1);
  });

  it("requires DELIVERIES_READ for deliveries and attempts; events also take EVENTS_PUBLISH", async () => {
    const forbidden = async (query: string, key: string) => {
      const res = await h.gql(query, { id: s.d1.id }, key);
      expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    };
    for (const key of [s.endpointsOnlyKey, s.publisherKey]) {
      await forbidden(`{ deliveries { totalCount } }`, key);
      await forbidden(`query($id: ID!) { delivery(id: $id) { id } }`, key);
      await forbidden(`{ attempts { totalCount } }`, key);
    }
    await forbidden(`{ events { totalCount } }`, s.endpointsOnlyKey);
    await forbidden(`query($id: ID!) { event(id: $id) { id } }`, s.endpointsOnlyKey);

    const events = ok(await h.gql(`{ events { totalCount } }`, {}, s.publisherKey)).events;
    expect(events.totalCount).toBe(3);
    // ...but not the deliveries under them.
    const nested = await h.gql(
      `{ events(first: 1) { edges { node { id deliveries { totalCount } } } } }`,
      {},
      s.publisherKey,
    );
    expect(nested.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const anon = await h.gql(`{ deliveries { totalCount } }`, {}, null);
    expect(anon.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("filters events by type, test flag, idempotency key, time and tenant", async () => {
    const q = async (filter: Record<string, unknown>) => {
      const conn = ok(
        await h.gql(
          `query($filter: EventFilter) { events(filter: $filter) { totalCount edges { node { id } } } }`,
          {
            filter,
          },
        ),
      ).events;
      expect(conn.totalCount).toBe(conn.edges.length);
      return ids(conn);
    };
    expect(await q({})).toEqual([s.e3.id, s.e2.id, s.e1.id]);
    expect(await q({ type: "invoice.paid" })).toEqual([s.e3.id, s.e1.id]);
    expect(await q({ test: true })).toEqual([s.e2.id]);
    expect(await q({ test: false })).toEqual([s.e3.id, s.e1.id]);
    expect(await q({ idempotencyKey: "k-1" })).toEqual([s.e1.id]);
    expect(await q({ since: at(5).toISOString() })).toEqual([s.e3.id, s.e2.id]);
    expect(await q({ until: at(10).toISOString() })).toEqual([s.e1.id]);
    expect(await q({ tenantId: s.child.id })).toEqual([s.e3.id]);
    expect(await q({ tenantId: s.root.id })).toEqual([s.e2.id, s.e1.id]);
  });

  it("links deliveries and endpoints both ways, each behind its own scope", async () => {
    const ep = ok(
      await h.gql(
        `query($id: ID!) { endpoint(id: $id) {
          all: deliveries { totalCount edges { node { id endpoint { id } } } }
          open: deliveries(status: [PENDING, RETRYING]) { totalCount edges { node { id } } }
        } }`,
        { id: s.epRoot.id },
      ),
    ).endpoint;
    expect(ids(ep.all)).toEqual([s.d4.id, s.d2.id, s.d1.id]);
    expect(ep.all.totalCount).toBe(3);
    expect(ep.all.edges.map((e: any) => e.node.endpoint.id)).toEqual([s.epRoot.id, s.epRoot.id, s.epRoot.id]);
    expect(ids(ep.open)).toEqual([s.d4.id]);
    expect(ep.open.totalCount).toBe(1);

    // A DELIVERIES_READ-only key reads the delivery but not the endpoint's details...
    const denied = await h.gql(
      `query($id: ID!) { delivery(id: $id) { id endpoint { url } } }`,
      { id: s.d3.id },
      s.childKey,
    );
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(denied.errors?.[0]?.path).toEqual(["delivery", "endpoint"]);
    // ...and an ENDPOINTS_READ-only key the endpoint but not its deliveries.
    const noDeliveries = await h.gql(
      `query($id: ID!) { endpoint(id: $id) { id deliveries { totalCount } } }`,
      { id: s.epRoot.id },
      s.endpointsOnlyKey,
    );
    expect(noDeliveries.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("filters attempts and nests attempts under deliveries, newest first with counts", async () => {
    const q = async (filter: Record<string, unknown>) =>
      ids(
        ok(
          await h.gql(
            `query($filter: AttemptFilter) { attempts(filter: $filter) { edges { node { id } } } }`,
            {
              filter,
            },
          ),
        ).attempts,
      );
    expect(await q({})).toEqual([s.a4.id, s.a3.id, s.a2.id, s.a1.id]);
    expect(await q({ deliveryId: s.d1.id })).toEqual([s.a2.id, s.a1.id]);
    expect(await q({ status: ["SUCCEEDED"] })).toEqual([s.a2.id]);
    expect(await q({ endpointId: s.epChild.id })).toEqual([s.a3.id]);
    expect(await q({ endpointId: s.epRoot.id, status: ["FAILED"] })).toEqual([s.a4.id, s.a1.id]);

    const d = ok(
      await h.gql(
        `query($id: ID!) { delivery(id: $id) {
          id status event { id type }
          attempts(first: 1) { totalCount pageInfo { hasNextPage } edges { node { attemptNumber status responseCode delivery { id } } } }
        } }`,
        { id: s.d1.id },
      ),
    ).delivery;
    expect(d.status).toBe("SUCCEEDED");
    expect(d.event).toEqual({ id: s.e1.id, type: "invoice.paid" });
    expect(d.attempts.totalCount).toBe(2);
    expect(d.attempts.pageInfo.hasNextPage).toBe(true);
    expect(d.attempts.edges).toEqual([
      { node: { attemptNumber: 2, status: "SUCCEEDED", responseCode: 200, delivery: { id: s.d1.id } } },
    ]);

    const e = ok(
      await h.gql(
        `query($id: ID!) { event(id: $id) { deliveries(status: [PENDING, SUCCEEDED]) { totalCount edges { node { id } } } } }`,
        { id: s.e3.id },
      ),
    ).event;
    expect(ids(e.deliveries)).toEqual([s.d5.id, s.d4.id]);
    expect(e.deliveries.totalCount).toBe(2);
  });

  it("loads nested relations and connections without a query per row", async () => {
    const NESTED = `{
      deliveries(first: 50) {
        totalCount
        edges { node { id event { id type deliveries(first: 3) { totalCount edges { node { id } } } }
          endpoint { id url }
          attempts(first: 5) { totalCount edges { node { id delivery { id } } } } } }
      }
    }`;
    const counter = countPrismaOperations(h.hookgate.app);
    try {
      ok(await h.gql(NESTED));
      const before = counter.ops.filter((op) => !op.startsWith("ApiKey.")).length;

      // Ten more deliveries, each with attempts: the number of operations must not grow.
      const app = h.hookgate.app;
      for (let i = 0; i < 10; i++) {
        const ev = await insertEvent(app, s.root.id, "bulk.created");
        const dl = await insertDelivery(app, ev, s.epRoot, { status: "SUCCEEDED" });
        await insertAttempt(app, dl, 1, "SUCCEEDED");
      }
      counter.reset();
      const data = ok(await h.gql(NESTED));
      expect(data.deliveries.edges.length).toBe(15);
      const after = counter.ops.filter((op) => !op.startsWith("ApiKey."));
      expect(after.length).toBe(before);
      // Measured: one findMany (relations and nested pages included) and one count.
      expect(after.length).toBeLessThanOrEqual(4);
    } finally {
      counter.restore();
    }
  });
});
