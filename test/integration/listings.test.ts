/**
 * apiKeys and tenants: the listings that let a lost key id or tenant id be found again. Metadata only
 * (never a key or its hash), confined to the caller's subtree, paged like every connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_OFFSET } from "../../src/graphql/pagination.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { createKey, createTenant, rootTenant } from "./read-fixtures.js";

const API_KEYS = `query ($first: Int, $after: String, $filter: ApiKeyFilter) {
  apiKeys(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id tenantId name prefix scopes createdAt lastUsedAt expiresAt revokedAt } }
    pageInfo { hasNextPage endCursor }
  } }`;
const TENANTS = `query ($first: Int, $after: String) {
  tenants(first: $first, after: $after) { totalCount edges { node { id name parentId } } pageInfo { hasNextPage endCursor } } }`;

describe("apiKeys and tenants listings", () => {
  let h: TestHookgate;
  let rootId: string;
  let acme: string;
  let acmeEu: string;
  let other: string;
  let acmeKey: string;
  let acmeReaderKey: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    rootId = (await rootTenant(h)).id;
    acme = (await createTenant(h, "Acme", rootId)).id;
    acmeEu = (await createTenant(h, "Acme EU", acme)).id;
    other = (await createTenant(h, "Other", rootId)).id;
    acmeKey = await createKey(h, acme, ["ADMIN"]);
    acmeReaderKey = await createKey(h, acme, ["ENDPOINTS_READ"]);
    await createKey(h, acmeEu, ["EVENTS_PUBLISH"]);
    await createKey(h, other, ["ADMIN"]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("lists the caller's subtree's keys with their metadata and never the key or its hash", async () => {
    const res = ok(await h.gql(API_KEYS, {}, acmeKey)).apiKeys;
    expect(res.totalCount).toBe(3);
    const nodes = res.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.tenantId).sort()).toEqual([acme, acme, acmeEu].sort());
    const text = JSON.stringify(res);
    const rows = await h.hookgate.app.prisma.apiKey.findMany();
    for (const row of rows) expect(text).not.toContain(row.hash);
    expect(text).not.toContain(acmeKey);
    expect(text).not.toContain(acmeKey.slice(0, 20));
    const mine = nodes.find((n: any) => acmeKey.startsWith(n.prefix) && n.scopes.includes("ADMIN"));
    expect(mine).toMatchObject({ tenantId: acme, revokedAt: null, expiresAt: null });
    // Authenticating recorded a use (written beside the request, so a later read sees it).
    let lastUsedAt = mine.lastUsedAt;
    for (let i = 0; i < 50 && lastUsedAt === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const again = ok(await h.gql(API_KEYS, {}, acmeKey)).apiKeys.edges.map((e: any) => e.node);
      lastUsedAt = again.find((n: any) => n.id === mine.id).lastUsedAt;
    }
    expect(lastUsedAt).not.toBeNull();
  });

  it("filters by tenant and by revocation; another tenant's id gives nothing", async () => {
    const eu = ok(await h.gql(API_KEYS, { filter: { tenantId: acmeEu } }, acmeKey)).apiKeys;
    expect(eu.edges.map((e: any) => e.node.scopes)).toEqual([["EVENTS_PUBLISH"]]);
    const foreign = ok(await h.gql(API_KEYS, { filter: { tenantId: other } }, acmeKey)).apiKeys;
    expect(foreign).toMatchObject({ totalCount: 0, edges: [] });

    const reader = ok(await h.gql(API_KEYS, {}, acmeKey)).apiKeys.edges.find((e: any) =>
      acmeReaderKey.startsWith(e.node.prefix),
    ).node;
    const revoked = ok(
      await h.gql(
        "mutation ($id: ID!) { revokeApiKey(id: $id) { ... on RevokeApiKeyPayload { apiKey { revokedAt } } } }",
        { id: reader.id },
        acmeKey,
      ),
    );
    expect(revoked.revokeApiKey.apiKey.revokedAt).not.toBeNull();
    const onlyRevoked = ok(await h.gql(API_KEYS, { filter: { revoked: true } }, acmeKey)).apiKeys;
    expect(onlyRevoked.edges.map((e: any) => e.node.id)).toEqual([reader.id]);
    const active = ok(await h.gql(API_KEYS, { filter: { revoked: false } }, acmeKey)).apiKeys;
    expect(active.totalCount).toBe(2);
    expect(active.edges.map((e: any) => e.node.id)).not.toContain(reader.id);
  });

  it("pages with first/after and refuses first past 100", async () => {
    const all = ok(await h.gql(API_KEYS, { first: 100 })).apiKeys;
    expect(all.totalCount).toBe(all.edges.length);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page: any = ok(await h.gql(API_KEYS, { first: 2, after })).apiKeys;
      seen.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.edges.map((e: any) => e.node.id));
    const over = await h.gql(API_KEYS, { first: 101 });
    expect(over.errors?.[0]?.message).toMatch(/100/);
  });

  it("offset (the connections' shared argument) skips rows from the start and from after", async () => {
    const ids = async (vars: Record<string, unknown>) =>
      ok(
        await h.gql(
          "query ($first: Int, $after: String, $offset: Int) { tenants(first: $first, after: $after, offset: $offset) { totalCount edges { cursor node { id } } } }",
          vars,
        ),
      ).tenants;
    const all = (await ids({ first: 100 })).edges.map((e: any) => e.node.id);
    expect(all).toHaveLength(4);
    const second = await ids({ first: 2, offset: 2 });
    expect(second.totalCount).toBe(4);
    expect(second.edges.map((e: any) => e.node.id)).toEqual(all.slice(2, 4));
    const first = await ids({ first: 1 });
    const afterOffset = await ids({ first: 2, after: first.edges[0].cursor, offset: 1 });
    expect(afterOffset.edges.map((e: any) => e.node.id)).toEqual(all.slice(2, 4));
    expect((await ids({ offset: MAX_OFFSET })).edges).toEqual([]);
    for (const offset of [-1, MAX_OFFSET + 1]) {
      const res = await h.gql("query ($o: Int) { tenants(offset: $o) { totalCount } }", { o: offset });
      expect(res.errors?.[0]?.message).toBe(
        `offset must be between 0 and ${MAX_OFFSET}, got ${offset}; page further with after (cursors)`,
      );
    }
    const keys = ok(await h.gql("{ apiKeys(first: 100) { edges { node { id } } } }")).apiKeys.edges;
    const skipped = ok(await h.gql("{ apiKeys(first: 100, offset: 1) { edges { node { id } } } }")).apiKeys
      .edges;
    expect(skipped).toEqual(keys.slice(1));
  });

  it("tenants lists the caller's tenant and its descendants only", async () => {
    const fromAcme = ok(await h.gql(TENANTS, {}, acmeKey)).tenants;
    expect(fromAcme.totalCount).toBe(2);
    expect(fromAcme.edges.map((e: any) => e.node)).toEqual([
      { id: acme, name: "Acme", parentId: rootId },
      { id: acmeEu, name: "Acme EU", parentId: acme },
    ]);
    const fromRoot = ok(await h.gql(TENANTS, { first: 100 })).tenants;
    expect(fromRoot.edges.map((e: any) => e.node.id).sort()).toEqual([rootId, acme, acmeEu, other].sort());
    const page = ok(await h.gql(TENANTS, { first: 1 })).tenants;
    expect(page).toMatchObject({ totalCount: 4, pageInfo: { hasNextPage: true } });
    expect(page.edges).toHaveLength(1);
  });
});
