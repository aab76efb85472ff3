import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileEventTypeSchema, findVisibleEventType } from "../../src/domain/event-types.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const CREATE = `mutation ($input: CreateEventTypeInput!) {
  createEventType(input: $input) {
    __typename
    ... on CreateEventTypePayload { eventType { id tenantId name description schema deprecated createdAt updatedAt } }
    ... on ValidationError { message fieldErrors { path message } }
    ... on ConflictError { message path }
    ... on NotFoundError { message }
  }
}`;

const UPDATE = `mutation ($id: ID!, $input: UpdateEventTypeInput!) {
  updateEventType(id: $id, input: $input) {
    __typename
    ... on UpdateEventTypePayload { eventType { id name description schema deprecated updatedAt } }
    ... on ValidationError { fieldErrors { path message } }
    ... on NotFoundError { message resourceId }
  }
}`;

const LIST = `query ($first: Int, $after: String, $includeDeprecated: Boolean, $tenantId: ID) {
  eventTypes(first: $first, after: $after, includeDeprecated: $includeDeprecated, tenantId: $tenantId) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name tenantId deprecated } }
  }
}`;

describe("event types", () => {
  let h: TestHookgate;
  let rootId: string;
  let childId: string;
  let childKey: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    rootId = ok(await h.gql("{ viewer { tenantId } }")).viewer.tenantId;
    const child = ok(
      await h.gql(
        `mutation { createTenant(input: { name: "child" }) { ... on CreateTenantPayload { tenant { id } } } }`,
      ),
    );
    childId = child.createTenant.tenant.id;
    const key = ok(
      await h.gql(
        `mutation ($t: ID!) { createApiKey(input: { name: "child admin", scopes: [ADMIN], tenantId: $t }) {
          ... on CreateApiKeyPayload { key } } }`,
        { t: childId },
      ),
    );
    childKey = key.createApiKey.key;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const create = async (input: Record<string, unknown>, key?: string) =>
    ok(await h.gql(CREATE, { input }, key)).createEventType;

  it("creates, lists, updates and deprecates", async () => {
    const schema = {
      type: "object",
      required: ["amount"],
      properties: { amount: { type: "integer" }, email: { type: "string", format: "email" } },
    };
    const created = await create({ name: "invoice.paid", description: "An invoice was paid", schema });
    expect(created.__typename).toBe("CreateEventTypePayload");
    expect(created.eventType).toMatchObject({
      name: "invoice.paid",
      description: "An invoice was paid",
      schema,
      deprecated: false,
      tenantId: rootId,
    });
    expect(created.eventType.id).toMatch(/^et_/);

    const list = ok(await h.gql(LIST, {})).eventTypes;
    expect(list.edges.map((e: any) => e.node.name)).toContain("invoice.paid");

    const updated = ok(
      await h.gql(UPDATE, { id: created.eventType.id, input: { description: "paid!", deprecated: true } }),
    ).updateEventType;
    expect(updated.__typename).toBe("UpdateEventTypePayload");
    expect(updated.eventType).toMatchObject({ description: "paid!", deprecated: true, schema });

    const visible = ok(await h.gql(LIST, {})).eventTypes;
    expect(visible.edges.map((e: any) => e.node.name)).not.toContain("invoice.paid");
    const all = ok(await h.gql(LIST, { includeDeprecated: true })).eventTypes;
    expect(all.edges.map((e: any) => e.node.name)).toContain("invoice.paid");
    expect(all.totalCount).toBe(visible.totalCount + 1);

    // Removing the schema is explicit (null); omitting it keeps it.
    const removed = ok(
      await h.gql(UPDATE, { id: created.eventType.id, input: { schema: null, deprecated: false } }),
    ).updateEventType;
    expect(removed.eventType.schema).toBeNull();
    expect(removed.eventType.deprecated).toBe(false);
  });

  it("refuses an invalid JSON Schema with ajv's message on input.schema", async () => {
    const res = await create({ name: "bad.schema", schema: { type: "objekt" } });
    expect(res.__typename).toBe("ValidationError");
    expect(res.fieldErrors).toHaveLength(1);
    expect(res.fieldErrors[0].path).toBe("input.schema");
    expect(res.fieldErrors[0].message).toMatch(/invalid JSON Schema: .*type/);

    const notObject = await create({ name: "bad.schema", schema: [1, 2] });
    expect(notObject.fieldErrors[0].path).toBe("input.schema");

    // A remote $ref is never fetched: it is simply unresolvable.
    const remote = await create({ name: "bad.schema", schema: { $ref: "https://127.0.0.1:1/x.json" } });
    expect(remote.fieldErrors[0].message).toMatch(/can't resolve reference/);

    const unknownDialect = await create({
      name: "bad.schema",
      schema: { $schema: "http://json-schema.org/draft-04/schema#" },
    });
    expect(unknownDialect.fieldErrors[0].message).toMatch(/unsupported \$schema/);
  });

  it("accepts draft-07 schemas and refuses schemas over 64 KiB", async () => {
    const draft07 = await create({
      name: "draft.seven",
      schema: { $schema: "http://json-schema.org/draft-07/schema#", type: "object" },
    });
    expect(draft07.__typename).toBe("CreateEventTypePayload");

    // {"description":"xxx..."} is 18 bytes of JSON around the string.
    const at = { description: "x".repeat(64 * 1024 - 18) };
    expect(JSON.stringify(at).length).toBe(64 * 1024);
    expect((await create({ name: "size.at", schema: at })).__typename).toBe("CreateEventTypePayload");
    const past = { description: "x".repeat(64 * 1024 - 17) };
    const res = await create({ name: "size.past", schema: past });
    expect(res.__typename).toBe("ValidationError");
    expect(res.fieldErrors[0].message).toMatch(/at most 65536 bytes/);
  });

  it("validates names at and past their edges", async () => {
    const good = ["a", "x".repeat(100), "customer.sub-account_v2.created", "A1.b2"];
    for (const name of good) {
      expect((await create({ name })).__typename, name).toBe("CreateEventTypePayload");
    }
    const bad = [
      "",
      "x".repeat(101),
      "invoice.*",
      "*",
      "invoice..paid",
      ".invoice",
      "invoice.",
      "in voice",
      "a/b",
    ];
    for (const name of bad) {
      const res = await create({ name });
      expect(res.__typename, name).toBe("ValidationError");
      expect(res.fieldErrors[0].path).toBe("input.name");
    }
    const longDescription = await create({ name: "desc.long", description: "d".repeat(1025) });
    expect(longDescription.fieldErrors[0].path).toBe("input.description");
    expect((await create({ name: "desc.ok", description: "d".repeat(1024) })).__typename).toBe(
      "CreateEventTypePayload",
    );
  });

  it("reports every invalid field at once", async () => {
    const res = await create({ name: "", description: "d".repeat(1025), schema: { type: 7 } });
    expect(res.fieldErrors.map((e: any) => e.path).sort()).toEqual([
      "input.description",
      "input.name",
      "input.schema",
    ]);
  });

  it("refuses a duplicate name in the same tenant with a ConflictError", async () => {
    expect((await create({ name: "dup.name" })).__typename).toBe("CreateEventTypePayload");
    const again = await create({ name: "dup.name" });
    expect(again).toMatchObject({ __typename: "ConflictError", path: "input.name" });
    // Same name in another tenant is a different type.
    expect((await create({ name: "dup.name", tenantId: childId })).__typename).toBe("CreateEventTypePayload");
  });

  it("shows a child tenant its parent's types and its own, not the other way round", async () => {
    await create({ name: "platform.wide" });
    const own = await create({ name: "child.only" }, childKey);
    expect(own.eventType.tenantId).toBe(childId);

    const childList = ok(await h.gql(LIST, { first: 100 }, childKey)).eventTypes;
    const childNames = childList.edges.map((e: any) => e.node.name);
    expect(childNames).toContain("platform.wide");
    expect(childNames).toContain("child.only");

    const rootNames = ok(await h.gql(LIST, { first: 100 })).eventTypes.edges.map((e: any) => e.node.name);
    expect(rootNames).not.toContain("child.only");
    // ...but the root can look through the child's eyes.
    const asChild = ok(await h.gql(LIST, { first: 100, tenantId: childId })).eventTypes;
    expect(asChild.edges.map((e: any) => e.node.name)).toContain("child.only");

    // A child cannot edit the platform's types, nor see by tenantId a tenant above it.
    const rootType = ok(await h.gql(LIST, { first: 100 })).eventTypes.edges.find(
      (e: any) => e.node.name === "platform.wide",
    ).node;
    const denied = ok(await h.gql(UPDATE, { id: rootType.id, input: { deprecated: true } }, childKey));
    expect(denied.updateEventType).toMatchObject({ __typename: "NotFoundError", resourceId: rootType.id });
    const above = ok(await h.gql(LIST, { tenantId: rootId }, childKey)).eventTypes;
    expect(above.totalCount).toBe(0);
  });

  it("findVisibleEventType prefers the nearest tenant's definition", async () => {
    const app = h.hookgate.app;
    await create({ name: "shadowed.type", schema: { type: "object" } });
    await create({ name: "shadowed.type", tenantId: childId, schema: { type: "string" } });
    const child = await app.prisma.tenant.findUniqueOrThrow({ where: { id: childId } });
    const root = await app.prisma.tenant.findUniqueOrThrow({ where: { id: rootId } });
    expect((await findVisibleEventType(app, child.path, "shadowed.type"))?.tenantId).toBe(childId);
    expect((await findVisibleEventType(app, root.path, "shadowed.type"))?.tenantId).toBe(rootId);
    expect(await findVisibleEventType(app, root.path, "child.only")).toBeNull();
    expect(await findVisibleEventType(app, root.path, "no.such.type")).toBeNull();
  });

  it("compileEventTypeSchema validates payloads and recompiles after an update", async () => {
    const created = await create({ name: "compiled.type", schema: { type: "object", required: ["a"] } });
    const app = h.hookgate.app;
    const row = await app.prisma.eventType.findUniqueOrThrow({ where: { id: created.eventType.id } });
    const validate = compileEventTypeSchema(row)!;
    expect(validate({ a: 1 })).toBe(true);
    expect(validate({})).toBe(false);
    expect(compileEventTypeSchema(row)).toBe(validate);

    await h.gql(UPDATE, { id: row.id, input: { schema: { type: "object", required: ["b"] } } });
    const row2 = await app.prisma.eventType.findUniqueOrThrow({ where: { id: row.id } });
    const validate2 = compileEventTypeSchema(row2)!;
    expect(validate2).not.toBe(validate);
    expect(validate2({ a: 1 })).toBe(false);
    expect(validate2({ b: 1 })).toBe(true);

    expect(compileEventTypeSchema({ ...row2, schema: null })).toBeNull();
  });

  it("paginates with totalCount", async () => {
    const app = h.hookgate.app;
    const before = await app.prisma.eventType.count({ where: { tenantId: rootId, deprecated: false } });
    for (let i = 0; i < 5; i++) await create({ name: `page.t${i}` });
    const first = ok(await h.gql(LIST, { first: 3 })).eventTypes;
    expect(first.totalCount).toBe(before + 5);
    expect(first.edges).toHaveLength(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = ok(await h.gql(LIST, { first: 100, after: first.pageInfo.endCursor })).eventTypes;
    expect(second.edges).toHaveLength(before + 5 - 3);
    const ids = new Set([...first.edges, ...second.edges].map((e: any) => e.node.id));
    expect(ids.size).toBe(before + 5);
    const tooMany = await h.gql(LIST, { first: 101 });
    expect(tooMany.errors?.[0]?.message).toMatch(/first must be between 0 and 100/);
  });

  it("needs ADMIN to write and any key to read", async () => {
    const reader = ok(
      await h.gql(`mutation { createApiKey(input: { name: "r", scopes: [ENDPOINTS_READ] }) {
        ... on CreateApiKeyPayload { key } } }`),
    ).createApiKey.key;
    const denied = await h.gql(CREATE, { input: { name: "not.allowed" } }, reader);
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // Reading works on this test's own row, whatever earlier tests left.
    const name = "readable.by.any.key";
    ok(await h.gql(CREATE, { input: { name } }));
    const listed = ok(await h.gql(LIST, { first: 100 }, reader)).eventTypes;
    expect(listed.edges.map((e: any) => e.node.name)).toContain(name);
    const anonymous = await h.gql(LIST, {}, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
