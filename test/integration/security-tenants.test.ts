/**
 * Cross-tenant matrix, derived from the schema: tenant B's ADMIN key calls every operation that
 * takes an object id, and every operation that takes a tenant (or endpoint/event/delivery) id
 * in its input or filter, with tenant A's REAL ids. Queries answer null (or nothing of A's),
 * mutations a NotFoundError, and nothing of A's changes (every row of every table is compared).
 */
import { getNamedType, isInputObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveUpdates } from "../../src/domain/live.js";
import { schema } from "../../src/graphql/index.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { minimalCall, type RootField, rootFields, snapshotRows } from "../support/matrix.js";
import { emitUpdate, signalFor, untilIdle, untilSubscribed, wsClient, wsSubscribe } from "./live-fixtures.js";
import { createKey, createTenant, insertAttempt, rootTenant } from "./read-fixtures.js";

const ROOTS = rootFields(schema);
/** Object kinds, longest first so that "updateEventType" is an EventType, not an Event. */
const KINDS = ["EventType", "Endpoint", "Delivery", "ApiKey", "Attempt", "Tenant", "Event"] as const;
type Kind = (typeof KINDS)[number] | "EndpointUid";

/** The kind of object a root field's `id` argument names: its return type for queries, else its name. */
function kindOf(r: RootField): Kind | null {
  const returned = String(r.field.type).replace(/[![\]]/g, "");
  if (r.kind === "query" && (KINDS as readonly string[]).includes(returned)) return returned as Kind;
  return KINDS.find((k) => r.name.toLowerCase().includes(k.toLowerCase())) ?? null;
}

// Endpoint operations take `id: ID` (optional beside `uid`); the rest `id: ID!`.
const ID_FIELDS = ROOTS.filter((r) =>
  r.field.args.some((a) => a.name === "id" && /^ID!?$/.test(String(a.type))),
);
/** Operations that name an endpoint by `uid` (+ tenantId) as well; upsertEndpoint creates by uid instead. */
const UID_FIELDS = ROOTS.filter(
  (r) => r.name !== "upsertEndpoint" && r.field.args.some((a) => a.name === "uid"),
);

/** Input or filter fields naming another object, with the kind of object they name. */
const REFERENCE_FIELDS: Record<string, Kind> = {
  tenantId: "Tenant",
  parentId: "Tenant",
  endpointId: "Endpoint",
  eventId: "Event",
  deliveryId: "Delivery",
  // Not an id, but it names tenant A's endpoint all the same.
  endpointUid: "EndpointUid",
};

interface RefRow {
  label: string;
  r: RootField;
  arg: string;
  field: string;
  kind: Kind;
}

/** Every (root field, argument, input field) where an argument's input object has a reference field. */
function referenceRows(): RefRow[] {
  const rows: RefRow[] = [];
  for (const r of ROOTS) {
    for (const a of r.field.args) {
      if (a.name in REFERENCE_FIELDS) {
        rows.push({
          label: `${r.kind}.${r.name}(${a.name})`,
          r,
          arg: a.name,
          field: "",
          kind: REFERENCE_FIELDS[a.name]!,
        });
        continue;
      }
      const type = getNamedType(a.type);
      if (!isInputObjectType(type)) continue;
      for (const f of Object.keys(type.getFields())) {
        if (f in REFERENCE_FIELDS) {
          rows.push({
            label: `${r.kind}.${r.name}(${a.name}.${f})`,
            r,
            arg: a.name,
            field: f,
            kind: REFERENCE_FIELDS[f]!,
          });
        }
      }
    }
  }
  return rows;
}
const REF_ROWS = referenceRows();

describe("cross-tenant matrix", () => {
  let h: TestHookgate;
  let keyB: string;
  let tenantAPath: string;
  let tenantBPath: string;
  /** Tenant A's objects, one of each kind, and tenant B's own (for moves). */
  const a = {} as Record<Kind, string>;
  const b = {} as Record<Kind, string>;

  async function objectsOf(tenantId: string, name: string): Promise<Record<Kind, string>> {
    const out = {} as Record<Kind, string>;
    out.Tenant = tenantId;
    const gq = async (query: string, variables: Record<string, unknown>) => {
      const data = ok(await h.gql(query, variables));
      const value = Object.values(data)[0] as Record<string, any>;
      if (value.__typename?.endsWith("Error")) throw new Error(`${query}: ${JSON.stringify(value)}`);
      return value;
    };
    out.EventType = (
      await gq(
        "mutation($i: CreateEventTypeInput!) { createEventType(input: $i) { __typename ... on CreateEventTypePayload { eventType { id } } ... on Error { message } } }",
        { i: { name: `${name}.happened`, tenantId } },
      )
    ).eventType.id;
    out.Endpoint = (
      await gq(
        "mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { __typename ... on CreateEndpointPayload { endpoint { id } } ... on Error { message } } }",
        { i: { url: "http://127.0.0.1:9/hook", events: ["*"], tenantId, uid: `${name}-uid` } },
      )
    ).endpoint.id;
    out.EndpointUid = `${name}-uid`;
    const published = await gq(
      "mutation($i: PublishEventInput!) { publishEvent(input: $i) { __typename ... on PublishEventPayload { event { id deliveries { edges { node { id } } } } } ... on Error { message } } }",
      { i: { type: `${name}.happened`, payload: { n: 1 }, tenantId } },
    );
    out.Event = published.event.id;
    out.Delivery = published.event.deliveries.edges[0].node.id;
    // Leave the delivery in a final state so that replay/recover would otherwise act on it.
    await h.hookgate.app.prisma.delivery.update({
      where: { id: out.Delivery },
      data: { status: "FAILED", nextAttemptAt: null, attemptCount: 1 },
    });
    out.Attempt = (
      await insertAttempt(h.hookgate.app, { id: out.Delivery, endpointId: out.Endpoint }, 1, "FAILED")
    ).id;
    const key = await createKey(h, tenantId, ["ENDPOINTS_READ"]);
    out.ApiKey = ok(await h.gql("{ viewer { keyId } }", {}, key)).viewer.keyId;
    return out;
  }

  beforeAll(async () => {
    h = await startTestHookgate();
    const root = await rootTenant(h);
    const tenantA = await createTenant(h, "tenant A", root.id);
    const tenantB = await createTenant(h, "tenant B", root.id);
    tenantAPath = tenantA.path;
    tenantBPath = tenantB.path;
    Object.assign(a, await objectsOf(tenantA.id, "alpha"));
    Object.assign(b, await objectsOf(tenantB.id, "beta"));
    // A's child tenant: as invisible to B as A itself.
    keyB = await createKey(h, tenantB.id, ["ADMIN"]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  /**
   * Subscribes as B with the filter naming A's object, plus a plain subscription as a barrier;
   * then signals an update of A's delivery followed by one of B's. Once the barrier has B's
   * update, A's was processed too: the filtered subscription must have seen nothing, and the
   * barrier only B's delivery.
   */
  async function expectNoLiveUpdatesOfA(r: RootField, overrides: Record<string, unknown>): Promise<void> {
    const app = h.hookgate.app;
    const hub = liveUpdates(app.db);
    const client = wsClient(h.graphqlUrl, keyB);
    try {
      const { variables } = minimalCall(r, overrides);
      const defs = r.field.args.map((x) => `$${x.name}: ${String(x.type)}`).join(", ");
      const call = r.field.args.map((x) => `${x.name}: $${x.name}`).join(", ");
      const filtered = wsSubscribe(
        client,
        `subscription(${defs}) { ${r.name}(${call}) { delivery { id } } }`,
        variables,
      );
      const barrier = wsSubscribe(client, `subscription { ${r.name} { delivery { id } } }`);
      await untilSubscribed(hub, 2);
      for (const [tenant, objects] of [
        [tenantAPath, a],
        [tenantBPath, b],
      ] as const) {
        const d = await app.prisma.delivery.findUniqueOrThrow({ where: { id: objects.Delivery } });
        await emitUpdate(app.db, signalFor(d, tenant, "RETRYING"));
      }
      const [seen] = await barrier.results.take(1);
      expect(seen?.data?.[r.name].delivery.id).toBe(b.Delivery);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(barrier.results.results).toHaveLength(1);
      expect(filtered.results.results).toEqual([]);
      expect(filtered.results.error).toBeNull();
    } finally {
      await client.dispose();
      await untilIdle(hub);
    }
  }

  it("derives the operations from the schema", () => {
    const names = ID_FIELDS.map((r) => r.name);
    for (const n of [
      "endpoint",
      "delivery",
      "event",
      "updateEndpoint",
      "deleteEndpoint",
      "revokeApiKey",
      "replayDelivery",
    ]) {
      expect(names).toContain(n);
    }
    for (const r of ID_FIELDS)
      expect(kindOf(r), `${r.name}: which kind of object does its id name?`).not.toBeNull();
    expect(REF_ROWS.length).toBeGreaterThanOrEqual(10);
  });

  it.each(ID_FIELDS.map((r) => ({ label: `${r.kind}.${r.name}`, r })))(
    "$label with tenant A's id, as tenant B's ADMIN → not found, nothing changed",
    async ({ r }) => {
      const kind = kindOf(r)!;
      const id = a[kind];
      const overrides: Record<string, unknown> = { id };
      if (r.field.args.some((x) => x.name === "since"))
        overrides.since = new Date(Date.now() - 3600_000).toISOString();
      const { query, variables } = minimalCall(r, overrides);
      const before = await snapshotRows(h);
      const selection =
        r.kind === "mutation"
          ? "{ __typename ... on NotFoundError { resourceId code message } }"
          : "{ __typename }";
      const res = await h.gql(query.replace("{ __typename }", selection), variables, keyB);
      expect(await snapshotRows(h)).toEqual(before);
      expect(res.errors, JSON.stringify(res)).toBeUndefined();
      const value = (res.data as Record<string, any>)[r.name];
      if (r.kind === "query") {
        expect(value).toBeNull();
      } else {
        expect(value).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", resourceId: id });
        // The message names nothing but the id the caller sent.
        expect(value.message).toMatch(new RegExp(`^\\w[\\w ]* ${id} not found$`));
      }
      // Control: the root tenant's ADMIN key (A's ancestor) does see the object.
      if (r.kind === "query") {
        const seen = await h.gql(query, variables);
        expect((seen.data as Record<string, any>)[r.name], JSON.stringify(seen)).not.toBeNull();
      }
    },
  );

  it("finds the operations that take uid", () => {
    expect(UID_FIELDS.map((r) => r.name).sort()).toEqual(
      [
        "deleteEndpoint",
        "endpoint",
        "recoverEndpoint",
        "rotateEndpointSecret",
        "testEndpoint",
        "updateEndpoint",
      ].sort(),
    );
  });

  it.each(UID_FIELDS.map((r) => ({ label: `${r.kind}.${r.name}`, r })))(
    "$label with tenant A's uid, as tenant B's ADMIN → not found, nothing changed",
    async ({ r }) => {
      const overrides: Record<string, unknown> = { uid: a.EndpointUid, tenantId: null };
      if (r.field.args.some((x) => x.name === "since"))
        overrides.since = new Date(Date.now() - 3600_000).toISOString();
      if (r.field.args.some((x) => x.name === "eventType")) overrides.eventType = "alpha.happened";
      const { query, variables } = minimalCall(r, overrides);
      const before = await snapshotRows(h);
      const selection =
        r.kind === "mutation"
          ? "{ __typename ... on NotFoundError { resourceId code message } }"
          : "{ __typename }";
      const res = await h.gql(query.replace("{ __typename }", selection), variables, keyB);
      expect(await snapshotRows(h)).toEqual(before);
      expect(res.errors, JSON.stringify(res)).toBeUndefined();
      const value = (res.data as Record<string, any>)[r.name];
      if (r.kind === "query") expect(value).toBeNull();
      else
        expect(value).toMatchObject({
          __typename: "NotFoundError",
          code: "NOT_FOUND",
          resourceId: a.EndpointUid,
        });
      expect(JSON.stringify(res)).not.toContain(a.Endpoint);
      // Control: A's ancestor, naming A's tenant, does reach it by uid.
      if (r.kind === "query") {
        const seen = await h.gql(query, { ...variables, tenantId: a.Tenant });
        expect(seen.data?.[r.name], JSON.stringify(seen)).not.toBeNull();
      }
    },
  );

  // Listings with no argument naming anything (tenants, apiKeys, endpoints, ...): B's page holds B's
  // objects and nothing of A's.
  const LIST_ROWS = ROOTS.filter((r) => r.kind === "query" && String(r.field.type).includes("Connection"));
  it.each(LIST_ROWS.map((r) => ({ label: `query.${r.name}`, r })))(
    "$label, as tenant B's ADMIN with no filter → nothing of A's",
    async ({ r }) => {
      const { query, variables } = minimalCall(r, { first: 100 });
      const res = await h.gql(
        query.replace("{ __typename }", "{ totalCount edges { node { id } } }"),
        variables,
        keyB,
      );
      const text = JSON.stringify(res);
      expect(res.errors, text).toBeUndefined();
      for (const id of Object.values(a)) expect(text).not.toContain(id);
    },
  );

  it("lists tenants and apiKeys among the derived listings", () => {
    expect(LIST_ROWS.map((r) => r.name)).toEqual(expect.arrayContaining(["tenants", "apiKeys"]));
  });

  it.each(REF_ROWS)("$label = tenant A's $kind, as tenant B's ADMIN → nothing of A's", async (row) => {
    const { r } = row;
    const value = a[row.kind];
    const overrides: Record<string, unknown> = {};
    if (row.field === "") {
      overrides[row.arg] = value;
    } else {
      const { variables } = minimalCall(r, {});
      const base = (variables[row.arg] as Record<string, unknown> | undefined) ?? {};
      overrides[row.arg] = { ...base, [row.field]: value };
    }
    // An id argument next to the reference names B's own object (a move of B's endpoint into A);
    // a top-level tenantId beside uid is the tenant the uid is looked up in: A's, with A's uid.
    if (row.arg === "tenantId" && r.field.args.some((x) => x.name === "uid")) overrides.uid = a.EndpointUid;
    else if (r.field.args.some((x) => x.name === "id")) overrides.id = b[kindOf(r) ?? "Tenant"];
    if (r.field.args.some((x) => x.name === "since"))
      overrides.since = new Date(Date.now() - 3600_000).toISOString();
    if (row.r.kind === "subscription") {
      await expectNoLiveUpdatesOfA(r, overrides);
      return;
    }
    const built = minimalCall(r, overrides);
    const connection = String(r.field.type).includes("Connection");
    const query = connection
      ? built.query.replace("{ __typename }", "{ totalCount edges { node { __typename } } }")
      : built.query.replace(
          "{ __typename }",
          "{ __typename ... on NotFoundError { resourceId code } ... on ValidationError { fieldErrors { path } } }",
        );
    const before = await snapshotRows(h);
    const res = await h.gql(query, built.variables, keyB);
    expect(await snapshotRows(h)).toEqual(before);
    const text = JSON.stringify(res);
    // Nothing of A's comes back, whatever the shape of the refusal.
    for (const id of Object.values(a)) if (id !== value) expect(text).not.toContain(id);
    const result = (res.data as Record<string, any> | null)?.[r.name];
    if (connection) {
      expect(res.errors, text).toBeUndefined();
      expect(result.totalCount).toBe(0);
    } else if (r.kind === "mutation") {
      expect(res.errors, text).toBeUndefined();
      expect(result, text).toMatchObject({
        __typename: "NotFoundError",
        code: "NOT_FOUND",
        resourceId: value,
      });
    } else {
      expect(result ?? null, text).toBeNull();
    }
  });
});
