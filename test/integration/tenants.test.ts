import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TENANT_MAX_DEPTH } from "../../src/domain/tenants.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const CREATE_TENANT = `mutation ($input: CreateTenantInput!) { createTenant(input: $input) { __typename
  ... on CreateTenantPayload { tenant { id name parentId children { id } } }
  ... on ValidationError { fieldErrors { path message } }
  ... on NotFoundError { resourceId } } }`;
const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename
  ... on CreateApiKeyPayload { key apiKey { id tenantId } }
  ... on NotFoundError { resourceId } } }`;
const TENANT = `query ($id: ID!) { tenant(id: $id) { id name parentId } }`;

describe("tenants", () => {
  let h: TestHookgate;
  let rootId: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    rootId = ok(await h.gql("{ viewer { tenantId } }")).viewer.tenantId;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const createTenant = async (input: Record<string, unknown>, key?: string) =>
    ok(await h.gql(CREATE_TENANT, { input }, key)).createTenant;
  const tenantId = async (name: string, parentId?: string, key?: string) => {
    const res = await createTenant({ name, parentId }, key);
    if (res.__typename !== "CreateTenantPayload") throw new Error(JSON.stringify(res));
    return res.tenant.id as string;
  };
  const keyFor = async (tenant: string, scopes = ["ADMIN"]) =>
    ok(await h.gql(CREATE_KEY, { input: { name: "k", scopes, tenantId: tenant } })).createApiKey
      .key as string;

  it("creates sub-accounts under the caller's tenant and nests them", async () => {
    const res = await createTenant({ name: "  Acme  " });
    expect(res.__typename).toBe("CreateTenantPayload");
    expect(res.tenant).toMatchObject({ name: "Acme", parentId: rootId, children: [] });
    expect(res.tenant.id).toMatch(/^ten_/);

    const child = await tenantId("Acme EU", res.tenant.id);
    const grandchild = await tenantId("Acme EU shop", child);
    const read = ok(await h.gql(TENANT, { id: res.tenant.id })).tenant;
    expect(read).toMatchObject({ name: "Acme", parentId: rootId });
    const withChildren = ok(
      await h.gql(`query ($id: ID!) { tenant(id: $id) { children { id } } }`, { id: child }),
    );
    expect(withChildren.tenant.children).toEqual([{ id: grandchild }]);

    const rows = await h.hookgate.app.prisma.tenant.findMany({ where: { id: { in: [child, grandchild] } } });
    const gc = rows.find((r) => r.id === grandchild)!;
    expect(gc.path).toBe(`/${rootId}/${res.tenant.id}/${child}/${grandchild}/`);
  });

  it("validates the name at and past its edges", async () => {
    expect((await createTenant({ name: "n".repeat(200) })).__typename).toBe("CreateTenantPayload");
    for (const name of ["", "   ", "n".repeat(201)]) {
      const res = await createTenant({ name });
      expect(res.__typename, JSON.stringify(name)).toBe("ValidationError");
      expect(res.fieldErrors[0].path).toBe("input.name");
    }
  });

  it(`nests at most ${TENANT_MAX_DEPTH} levels deep`, async () => {
    // The root is level 1.
    let parent = rootId;
    for (let level = 2; level <= TENANT_MAX_DEPTH; level++) parent = await tenantId(`level ${level}`, parent);
    const tooDeep = await createTenant({ name: "one too deep", parentId: parent });
    expect(tooDeep.__typename).toBe("ValidationError");
    expect(tooDeep.fieldErrors[0]).toMatchObject({
      path: "input.parentId",
      message: expect.stringContaining(`${TENANT_MAX_DEPTH} levels`),
    });
  });

  it("confines a child's key to its own subtree", async () => {
    const parent = await tenantId("parent");
    const child = await tenantId("child", parent);
    const sibling = await tenantId("sibling", parent);
    const childKey = await keyFor(child);

    const viewer = ok(await h.gql("{ viewer { tenantId tenant { id name } } }", {}, childKey)).viewer;
    expect(viewer).toMatchObject({ tenantId: child, tenant: { id: child, name: "child" } });
    expect(ok(await h.gql(TENANT, { id: child }, childKey)).tenant.id).toBe(child);
    for (const other of [parent, sibling, rootId]) {
      expect(ok(await h.gql(TENANT, { id: other }, childKey)).tenant, other).toBeNull();
    }
    // Creating under a tenant it cannot see, or a key there, is "not found".
    expect(await createTenant({ name: "x", parentId: sibling }, childKey)).toMatchObject({
      __typename: "NotFoundError",
      resourceId: sibling,
    });
    const foreignKey = ok(
      await h.gql(CREATE_KEY, { input: { name: "k", scopes: ["ADMIN"], tenantId: parent } }, childKey),
    ).createApiKey;
    expect(foreignKey).toMatchObject({ __typename: "NotFoundError", resourceId: parent });
    // Its own sub-accounts are fine.
    const own = await createTenant({ name: "grandchild" }, childKey);
    expect(own.tenant.parentId).toBe(child);
  });

  it("lets a parent's key act on a child through tenantId", async () => {
    const parent = await tenantId("acting parent");
    const child = await tenantId("acting child", parent);
    const parentKey = await keyFor(parent);
    expect(ok(await h.gql(TENANT, { id: child }, parentKey)).tenant.id).toBe(child);
    const made = ok(
      await h.gql(
        CREATE_KEY,
        { input: { name: "for child", scopes: ["ENDPOINTS_READ"], tenantId: child } },
        parentKey,
      ),
    ).createApiKey;
    expect(made.apiKey.tenantId).toBe(child);
    const under = await createTenant({ name: "under child", parentId: child }, parentKey);
    expect(under.tenant.parentId).toBe(child);
  });

  it("needs ADMIN to create tenants", async () => {
    const reader = await keyFor(rootId, ["ENDPOINTS_READ", "ENDPOINTS_WRITE"]);
    const res = await h.gql(CREATE_TENANT, { input: { name: "nope" } }, reader);
    expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(res.data).toBeNull();
  });
});
