import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { insertAttempt, insertDelivery, insertEndpoint, insertEvent, rootTenant } from "./read-fixtures.js";

/*
 * `offset` beside first/after on every connection: the rows skipped, the cursors that still lead
 * on from an offset page, pageInfo and totalCount; each field's own page-size maximum (500 on the
 * logs, 100 elsewhere) and the cost limit that still bounds nested 500-row pages.
 */
describe("connections: offset and page sizes", () => {
  let h: TestHookgate;
  /** 12 endpoints, oldest first (endpoints lists oldest first). */
  let endpointIds: string[];
  /** 510 attempts of one delivery, newest first (attempts list newest first). */
  let attemptIds: string[];
  let deliveryId: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    const app = h.hookgate.app;
    const root = await rootTenant(h);
    endpointIds = [];
    for (let i = 0; i < 12; i++) endpointIds.push((await insertEndpoint(app, root.id)).id);
    const event = await insertEvent(app, root.id, "invoice.paid");
    const endpoint = await app.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointIds[0]! } });
    const delivery = await insertDelivery(app, event, endpoint, { status: "FAILED" });
    deliveryId = delivery.id;
    const ids: string[] = [];
    for (let i = 0; i < 510; i++) ids.push((await insertAttempt(app, delivery, i + 1, "FAILED")).id);
    attemptIds = ids.reverse();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ENDPOINTS = `query($first: Int, $after: String, $offset: Int) {
    endpoints(first: $first, after: $after, offset: $offset) {
      totalCount
      edges { cursor node { id } }
      pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    }
  }`;

  it("skips `offset` rows; the edges keep cursors that lead on with `after`", async () => {
    const page = ok(await h.gql(ENDPOINTS, { first: 5, offset: 7 })).endpoints;
    expect(page.edges.map((e: any) => e.node.id)).toEqual(endpointIds.slice(7, 12));
    expect(page.totalCount).toBe(12);
    expect(page.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    expect(page.pageInfo.startCursor).toBe(page.edges[0].cursor);

    const middle = ok(await h.gql(ENDPOINTS, { first: 3, offset: 2 })).endpoints;
    expect(middle.edges.map((e: any) => e.node.id)).toEqual(endpointIds.slice(2, 5));
    expect(middle.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    // The cursor of an offset page continues exactly where it ended.
    const next = ok(await h.gql(ENDPOINTS, { first: 3, after: middle.pageInfo.endCursor })).endpoints;
    expect(next.edges.map((e: any) => e.node.id)).toEqual(endpointIds.slice(5, 8));
    // after + offset: skip that many past the cursor.
    const skipped = ok(
      await h.gql(ENDPOINTS, { first: 2, after: middle.pageInfo.endCursor, offset: 4 }),
    ).endpoints;
    expect(skipped.edges.map((e: any) => e.node.id)).toEqual(endpointIds.slice(9, 11));
    expect(skipped.totalCount).toBe(12);
  });

  it("offset 0 is the first page; an offset past the end is an empty page", async () => {
    const first = ok(await h.gql(ENDPOINTS, { first: 2, offset: 0 })).endpoints;
    expect(first.edges.map((e: any) => e.node.id)).toEqual(endpointIds.slice(0, 2));
    expect(first.pageInfo.hasPreviousPage).toBe(false);
    const past = ok(await h.gql(ENDPOINTS, { first: 5, offset: 12 })).endpoints;
    expect(past.edges).toEqual([]);
    expect(past.pageInfo).toMatchObject({ hasNextPage: false, startCursor: null, endCursor: null });
    expect(past.totalCount).toBe(12);
    const edge = ok(await h.gql(ENDPOINTS, { first: 5, offset: 100_000 })).endpoints;
    expect(edge.edges).toEqual([]);
  });

  it("attempts: a page of 500 by offset, and 501 refused naming the field's maximum", async () => {
    const Q = `query($first: Int, $offset: Int) {
      attempts(first: $first, offset: $offset) {
        totalCount edges { node { id attemptNumber } } pageInfo { hasPreviousPage hasNextPage }
      }
    }`;
    const page = ok(await h.gql(Q, { first: 500, offset: 5 })).attempts;
    expect(page.totalCount).toBe(510);
    expect(page.edges).toHaveLength(500);
    expect(page.edges.map((e: any) => e.node.id)).toEqual(attemptIds.slice(5, 505));
    expect(page.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const tail = ok(await h.gql(Q, { first: 500, offset: 505 })).attempts;
    expect(tail.edges.map((e: any) => e.node.id)).toEqual(attemptIds.slice(505));
    expect(tail.pageInfo.hasNextPage).toBe(false);

    const tooMany = await h.gql(Q, { first: 501 });
    expect(tooMany.errors?.[0]).toMatchObject({
      message: "first must be between 0 and 500, got 501",
      extensions: { code: "BAD_USER_INPUT", argument: "first" },
    });
    for (const field of ["deliveries", "events"]) {
      const at = await h.gql(`{ ${field}(first: 500) { totalCount } }`);
      expect(at.errors).toBeUndefined();
      const past = await h.gql(`{ ${field}(first: 501) { totalCount } }`);
      expect(past.errors?.[0]?.message).toBe("first must be between 0 and 500, got 501");
    }
    // Other connections keep 100.
    expect((await h.gql("{ eventTypes(first: 100) { totalCount } }")).errors).toBeUndefined();
    expect((await h.gql("{ endpoints(first: 101) { totalCount } }")).errors?.[0]?.message).toBe(
      "first must be between 0 and 100, got 101",
    );
  });

  it("nested connections take offset too", async () => {
    const Q = `query($id: ID!) {
      delivery(id: $id) {
        attempts(first: 3, offset: 2) { totalCount edges { node { id } } pageInfo { hasPreviousPage } }
      }
    }`;
    const page = ok(await h.gql(Q, { id: deliveryId })).delivery.attempts;
    expect(page.totalCount).toBe(510);
    expect(page.edges.map((e: any) => e.node.id)).toEqual(attemptIds.slice(2, 5));
    expect(page.pageInfo.hasPreviousPage).toBe(true);
    const list = ok(
      await h.gql(
        `{ deliveries(first: 1) { edges { node { attempts(first: 2, offset: 508) { edges { node { id } } } } } } }`,
      ),
    ).deliveries.edges[0].node.attempts;
    expect(list.edges.map((e: any) => e.node.id)).toEqual(attemptIds.slice(508));
  });

  it("the cost limit still bounds nested pages of 500", async () => {
    const res = await h.gql(
      "{ deliveries(first: 500) { edges { node { attempts(first: 500) { edges { node { id } } } } } } }",
    );
    expect(res.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
  });
});
