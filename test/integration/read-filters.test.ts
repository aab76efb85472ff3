import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createKey,
  createTenant,
  insertAttempt,
  insertDelivery,
  insertEndpoint,
  insertEvent,
  rootTenant,
} from "./read-fixtures.js";

/*
 * AttemptFilter and DeliveryFilter by eventType, tenantId (a child tenant reached by its
 * parent's key) and endpointUid; each confined to the caller's subtree.
 */
describe("read filters: eventType, tenantId, endpointUid", () => {
  let h: TestHookgate;
  let s: Awaited<ReturnType<typeof seed>>;

  async function seed() {
    const app = h.hookgate.app;
    // "root" here is a platform under the real root; "other" is its sibling, outside its subtree.
    const root = await createTenant(h, "platform", (await rootTenant(h)).id);
    const child = await createTenant(h, "child", root.id);
    const other = await createTenant(h, "other", (await rootTenant(h)).id);
    const epChild = await insertEndpoint(app, child.id);
    await app.prisma.endpoint.update({ where: { id: epChild.id }, data: { uid: "session.end" } });
    const epRoot = await insertEndpoint(app, root.id);
    await app.prisma.endpoint.update({ where: { id: epRoot.id }, data: { uid: "session.end" } });
    const epOther = await insertEndpoint(app, other.id);
    await app.prisma.endpoint.update({ where: { id: epOther.id }, data: { uid: "session.end" } });
    const endEvt = await insertEvent(app, child.id, "session.end");
    const memEvt = await insertEvent(app, child.id, "memory.created");
    const rootEvt = await insertEvent(app, root.id, "session.end");
    const otherEvt = await insertEvent(app, other.id, "session.end");
    const dEnd = await insertDelivery(app, endEvt, epChild, { status: "FAILED" });
    const dMem = await insertDelivery(app, memEvt, epChild, { status: "FAILED" });
    const dRoot = await insertDelivery(app, rootEvt, epRoot, { status: "FAILED" });
    const dOther = await insertDelivery(app, otherEvt, epOther, { status: "FAILED" });
    const aEnd1 = await insertAttempt(app, dEnd, 1, "FAILED");
    const aEnd2 = await insertAttempt(app, dEnd, 2, "FAILED");
    const aMem = await insertAttempt(app, dMem, 1, "FAILED");
    const aRoot = await insertAttempt(app, dRoot, 1, "FAILED");
    const aOther = await insertAttempt(app, dOther, 1, "FAILED");
    const rootReader = await createKey(h, root.id, ["DELIVERIES_READ"]);
    const childReader = await createKey(h, child.id, ["DELIVERIES_READ"]);
    const otherReader = await createKey(h, other.id, ["DELIVERIES_READ"]);
    return {
      root,
      child,
      other,
      epChild,
      epRoot,
      dEnd,
      dMem,
      dRoot,
      dOther,
      aEnd1,
      aEnd2,
      aMem,
      aRoot,
      aOther,
      rootReader,
      childReader,
      otherReader,
    };
  }

  beforeAll(async () => {
    h = await startTestHookgate();
    s = await seed();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ATTEMPTS = `query($filter: AttemptFilter) {
    attempts(first: 50, filter: $filter) { totalCount edges { node { id } } }
  }`;
  const DELIVERIES = `query($filter: DeliveryFilter) {
    deliveries(first: 50, filter: $filter) { totalCount edges { node { id } } }
  }`;
  const attemptIds = async (filter: object, key = s.rootReader) => {
    const page = ok(await h.gql(ATTEMPTS, { filter }, key)).attempts;
    expect(page.totalCount).toBe(page.edges.length);
    return page.edges.map((e: any) => e.node.id).sort();
  };
  const deliveryIds = async (filter: object, key = s.rootReader) => {
    const page = ok(await h.gql(DELIVERIES, { filter }, key)).deliveries;
    expect(page.totalCount).toBe(page.edges.length);
    return page.edges.map((e: any) => e.node.id).sort();
  };
  const sorted = (...ids: string[]) => ids.sort();

  it("attempts of one event type in a child tenant, reached by the parent's key", async () => {
    expect(await attemptIds({ eventType: "session.end", tenantId: s.child.id })).toEqual(
      sorted(s.aEnd1.id, s.aEnd2.id),
    );
    // Without tenantId: the whole subtree (the root's own session.end too), never the other tenant.
    expect(await attemptIds({ eventType: "session.end" })).toEqual(
      sorted(s.aEnd1.id, s.aEnd2.id, s.aRoot.id),
    );
    expect(await attemptIds({ tenantId: s.child.id })).toEqual(sorted(s.aEnd1.id, s.aEnd2.id, s.aMem.id));
    expect(await attemptIds({ eventType: "no.such" })).toEqual([]);
  });

  it("endpointUid names the endpoint with that uid in tenantId (default: the caller's own tenant)", async () => {
    expect(await attemptIds({ endpointUid: "session.end", tenantId: s.child.id })).toEqual(
      sorted(s.aEnd1.id, s.aEnd2.id, s.aMem.id),
    );
    expect(await attemptIds({ endpointUid: "session.end" })).toEqual([s.aRoot.id]);
    expect(await attemptIds({ endpointUid: "session.end" }, s.childReader)).toEqual(
      sorted(s.aEnd1.id, s.aEnd2.id, s.aMem.id),
    );
    expect(await deliveryIds({ endpointUid: "session.end", tenantId: s.child.id })).toEqual(
      sorted(s.dEnd.id, s.dMem.id),
    );
    expect(
      await deliveryIds({ endpointUid: "session.end", tenantId: s.child.id, eventType: "memory.created" }),
    ).toEqual([s.dMem.id]);
    // endpointId and endpointUid together must name the same endpoint.
    expect(await deliveryIds({ endpointUid: "session.end", endpointId: s.epChild.id })).toEqual([]);
    expect(
      await deliveryIds({ endpointUid: "session.end", endpointId: s.epChild.id, tenantId: s.child.id }),
    ).toEqual(sorted(s.dEnd.id, s.dMem.id));
    expect(await attemptIds({ endpointUid: "unknown" })).toEqual([]);
  });

  it("another tenant's id or uid finds nothing (its existence is not revealed)", async () => {
    expect(await attemptIds({ tenantId: s.other.id })).toEqual([]);
    expect(await attemptIds({ tenantId: s.other.id, endpointUid: "session.end" })).toEqual([]);
    expect(await deliveryIds({ tenantId: s.other.id, endpointUid: "session.end" })).toEqual([]);
    // A child cannot reach up to its parent.
    expect(await attemptIds({ tenantId: s.root.id }, s.childReader)).toEqual([]);
    expect(await deliveryIds({ tenantId: s.root.id }, s.childReader)).toEqual([]);
    // The other tenant's key sees only its own.
    expect(await attemptIds({ endpointUid: "session.end" }, s.otherReader)).toEqual([s.aOther.id]);
    expect(await attemptIds({ tenantId: s.child.id }, s.otherReader)).toEqual([]);
  });
});
