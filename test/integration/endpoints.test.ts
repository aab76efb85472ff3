import type dns from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import type { LookupFn } from "../../src/security/url-policy.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const ENDPOINT_FIELDS = `id uid tenantId url description events status disabledReason headers { name value }
  includeChildTenants rateLimitPerSecond createdAt updatedAt deletedAt
  secrets { id fingerprint createdAt expiresAt }`;
const ERRORS = `... on ValidationError { message fieldErrors { path message } }
  ... on NotFoundError { message resourceId }
  ... on ConflictError { message path }`;

const CREATE = `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { __typename
  ... on CreateEndpointPayload { secret endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
const UPSERT = `mutation ($uid: String!, $input: CreateEndpointInput!) { upsertEndpoint(uid: $uid, input: $input) {
  __typename ... on UpsertEndpointPayload { created secret endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) {
  __typename ... on UpdateEndpointPayload { endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
const DELETE = `mutation ($id: ID!) { deleteEndpoint(id: $id) { __typename
  ... on DeleteEndpointPayload { endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
const ROTATE = `mutation ($id: ID!, $input: RotateEndpointSecretInput) { rotateEndpointSecret(id: $id, input: $input) {
  __typename ... on RotateEndpointSecretPayload { secret endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
const GET = `query ($id: ID!) { endpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
const LIST = `query ($first: Int, $after: String, $filter: EndpointFilter) {
  endpoints(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id uid events status } } } }`;

/** No test touches real DNS: these names resolve here, everything else fails at once. */
const FAKE_DNS: Record<string, string> = {
  "public.hooks.test": "93.184.216.34",
  "internal.hooks.test": "10.1.2.3",
  "metadata.hooks.test": "169.254.169.254",
};
const fakeLookup: LookupFn = (hostname, _options, callback) => {
  const address = FAKE_DNS[hostname];
  if (!address) {
    const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    err.code = "ENOTFOUND";
    return callback(err, []);
  }
  callback(null, [{ address, family: 4 }] as dns.LookupAddress[]);
};

const URL_OK = "http://127.0.0.1:9/hook";

let h: TestHookgate;
let rootId: string;

/**
 * The endpoint's unexpired secrets, newest first, decrypted from storage. (That the dispatcher signs with
 * exactly these is shown by delivery in test/integration/secret-expiry.test.ts.)
 */
async function unexpiredSecrets(endpointId: string): Promise<string[]> {
  const app = h.hookgate.app;
  const rows = await app.prisma.endpointSecret.findMany({
    where: { endpointId, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
  return rows.map((r) => app.cipher.decrypt(r.ciphertext));
}

/** Stored custom headers with the sensitive values decrypted. */
function decryptedHeaders(json: unknown): { name: string; value: string }[] {
  return (json as { name: string; value: string; encrypted: boolean }[]).map((s) => ({
    name: s.name,
    value: s.encrypted ? h.hookgate.app.cipher.decrypt(s.value) : s.value,
  }));
}

async function gqlOk(query: string, variables: Record<string, unknown>, key?: string) {
  return ok(await h.gql(query, variables, key));
}

async function create(input: Record<string, unknown>, key?: string) {
  return (await gqlOk(CREATE, { input: { url: URL_OK, events: ["invoice.paid"], ...input } }, key))
    .createEndpoint;
}

async function createOk(input: Record<string, unknown> = {}, key?: string) {
  const res = await create(input, key);
  if (res.__typename !== "CreateEndpointPayload") throw new Error(`create failed: ${JSON.stringify(res)}`);
  return res as { secret: string; endpoint: any };
}

function paths(res: { fieldErrors?: { path: string }[] }): string[] {
  return (res.fieldErrors ?? []).map((e) => e.path);
}

async function newKey(scopes: string[], tenantId?: string): Promise<string> {
  const res = await gqlOk(
    `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on CreateApiKeyPayload { key } } }`,
    { input: { name: "test", scopes, tenantId } },
  );
  return res.createApiKey.key;
}

async function newTenant(name: string, parentId?: string): Promise<string> {
  const res = await gqlOk(
    `mutation ($input: CreateTenantInput!) { createTenant(input: $input) {
      ... on CreateTenantPayload { tenant { id } } } }`,
    { input: { name, parentId } },
  );
  return res.createTenant.tenant.id;
}

beforeAll(async () => {
  h = await startTestHookgate({ dnsLookup: fakeLookup });
  rootId = (await gqlOk("{ viewer { tenantId } }", {})).viewer.tenantId;
  const names = ["invoice.paid", "invoice.created", "invoice.line.added", "customer.created", "old.type"];
  for (const name of names) {
    await gqlOk(
      `mutation ($name: String!) { createEventType(input: { name: $name }) {
        ... on CreateEventTypePayload { eventType { id } } } }`,
      { name },
    );
  }
  const old = await h.hookgate.app.prisma.eventType.findFirstOrThrow({ where: { name: "old.type" } });
  await gqlOk(
    `mutation ($id: ID!) { updateEventType(id: $id, input: { deprecated: true }) { __typename } }`,
    {
      id: old.id,
    },
  );
});

afterAll(async () => {
  await h?.stop();
});

describe("createEndpoint", () => {
  it("creates an endpoint, shows the secret once and stores it encrypted", async () => {
    const { secret, endpoint } = await createOk({ description: "billing", uid: "billing-1" });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(endpoint).toMatchObject({
      uid: "billing-1",
      tenantId: rootId,
      url: URL_OK,
      description: "billing",
      events: ["invoice.paid"],
      status: "ENABLED",
      disabledReason: null,
      headers: [],
      includeChildTenants: false,
      rateLimitPerSecond: null,
      deletedAt: null,
    });
    expect(endpoint.id).toMatch(/^ep_/);
    expect(endpoint.secrets).toHaveLength(1);
    expect(endpoint.secrets[0]).toMatchObject({ expiresAt: null, fingerprint: `${secret.slice(0, 10)}…` });

    const read = await h.gql(GET, { id: endpoint.id });
    expect(JSON.stringify(read)).not.toContain(secret.slice(6));

    const app = h.hookgate.app;
    const rows = await app.prisma.endpointSecret.findMany({ where: { endpointId: endpoint.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ciphertext).not.toContain(secret);
    expect(rows[0]!.ciphertext).not.toContain(secret.slice(6));
    expect(app.cipher.decrypt(rows[0]!.ciphertext)).toBe(secret);
    expect(await unexpiredSecrets(endpoint.id)).toEqual([secret]);
  });

  it("accepts a user secret of 16 and 256 characters and refuses 15 and 257", async () => {
    const s16 = "a".repeat(16);
    const created = await createOk({ secret: s16 });
    expect(created.secret).toBe(s16);
    expect(await unexpiredSecrets(created.endpoint.id)).toEqual([s16]);
    expect((await create({ secret: "b".repeat(256) })).__typename).toBe("CreateEndpointPayload");
    expect((await create({ secret: `whsec_${Buffer.alloc(24, 7).toString("base64")}` })).__typename).toBe(
      "CreateEndpointPayload",
    );
    for (const secret of ["c".repeat(15), "d".repeat(257), "whsec_not base64!"]) {
      const res = await create({ secret });
      expect(res.__typename, secret).toBe("ValidationError");
      expect(paths(res)).toEqual(["input.secret"]);
    }
  });

  it("checks the url: length, scheme, credentials, fragments, and addresses names resolve to", async () => {
    const prefix = "http://127.0.0.1/";
    const at = prefix + "a".repeat(2048 - prefix.length);
    expect((await create({ url: at })).__typename).toBe("CreateEndpointPayload");
    const past = await create({ url: `${at}a` });
    expect(past.__typename).toBe("ValidationError");
    expect(past.fieldErrors[0]).toMatchObject({
      path: "input.url",
      message: expect.stringMatching(/too long/),
    });

    const refused = [
      "ftp://127.0.0.1/x",
      "not a url",
      "https://user:pass@public.hooks.test/x",
      "https://public.hooks.test/x#frag",
      // Link-local (cloud metadata) stays blocked even in development mode, literal or behind a name.
      "http://169.254.169.254/latest",
      "https://metadata.hooks.test/x",
    ];
    for (const url of refused) {
      const res = await create({ url });
      expect(res.__typename, url).toBe("ValidationError");
      expect(paths(res), url).toEqual(["input.url"]);
    }
    // A name that does not resolve now is accepted (the delivery-time check is authoritative).
    expect((await create({ url: "https://nowhere.hooks.invalid/x" })).__typename).toBe(
      "CreateEndpointPayload",
    );
    expect((await create({ url: "https://public.hooks.test/x" })).__typename).toBe("CreateEndpointPayload");
  });

  it("checks event filters", async () => {
    expect((await create({ events: ["*"] })).endpoint.events).toEqual(["*"]);
    expect((await create({ events: ["invoice.*", "customer.created"] })).endpoint.events).toEqual([
      "invoice.*",
      "customer.created",
    ]);
    // A prefix needs no event type of its own, only a well-formed name.
    expect((await create({ events: ["future.things.*"] })).__typename).toBe("CreateEndpointPayload");
    // Duplicates are stored once.
    expect((await create({ events: ["invoice.paid", "invoice.paid"] })).endpoint.events).toEqual([
      "invoice.paid",
    ]);
    expect((await create({ events: Array(100).fill("*") })).__typename).toBe("CreateEndpointPayload");

    const empty = await create({ events: [] });
    expect(paths(empty)).toEqual(["input.events"]);
    const tooMany = await create({ events: Array(101).fill("*") });
    expect(paths(tooMany)).toEqual(["input.events"]);

    const bad = await create({
      events: ["invoice.paid", "no.such.type", "old.type", ".*", "in voice.*", "a*", ""],
    });
    expect(bad.__typename).toBe("ValidationError");
    expect(bad.fieldErrors).toEqual([
      { path: "input.events.1", message: "unknown event type no.such.type" },
      { path: "input.events.2", message: "event type old.type is deprecated" },
      { path: "input.events.3", message: expect.stringMatching(/prefix must not be empty/) },
      { path: "input.events.4", message: expect.stringMatching(/not a valid filter/) },
      { path: "input.events.5", message: expect.stringMatching(/not a valid filter/) },
      { path: "input.events.6", message: expect.stringMatching(/must not be empty/) },
    ]);
  });

  it("checks custom headers", async () => {
    const twenty = Array.from({ length: 20 }, (_, i) => ({ name: `x-h${i}`, value: "v" }));
    expect((await create({ headers: twenty })).__typename).toBe("CreateEndpointPayload");
    const tooMany = await create({ headers: [...twenty, { name: "x-h20", value: "v" }] });
    expect(paths(tooMany)).toEqual(["input.headers"]);

    const res = await create({
      headers: [
        { name: "webhook-signature", value: "forged" },
        { name: "x-ok", value: "line\r\nInjected: yes" },
        { name: "x".repeat(65), value: "v" },
        { name: "x-long", value: "v".repeat(4097) },
        { name: "bad name", value: "v" },
        { name: "Content-Length", value: "1" },
      ],
    });
    expect(paths(res)).toEqual([
      "input.headers.0.name",
      "input.headers.1.value",
      "input.headers.2.name",
      "input.headers.3.value",
      "input.headers.4.name",
      "input.headers.5.name",
    ]);
    const edges = await create({ headers: [{ name: "x".repeat(64), value: "v".repeat(4096) }] });
    expect(edges.__typename).toBe("CreateEndpointPayload");
  });

  it("checks description, uid and rate limit at and past their edges", async () => {
    expect((await create({ description: "d".repeat(1024) })).__typename).toBe("CreateEndpointPayload");
    expect(paths(await create({ description: "d".repeat(1025) }))).toEqual(["input.description"]);

    expect((await create({ uid: "u".repeat(128) })).endpoint.uid).toBe("u".repeat(128));
    expect((await create({ uid: "Ab0_.:-x" })).__typename).toBe("CreateEndpointPayload");
    for (const uid of ["u".repeat(129), "", "has space", "slash/no"]) {
      expect(paths(await create({ uid })), uid).toEqual(["input.uid"]);
    }

    for (const rate of [1, 10000]) {
      expect((await create({ rateLimitPerSecond: rate })).endpoint.rateLimitPerSecond).toBe(rate);
    }
    for (const rate of [0, -1, 10001]) {
      expect(paths(await create({ rateLimitPerSecond: rate })), String(rate)).toEqual([
        "input.rateLimitPerSecond",
      ]);
    }
  });

  it("refuses a uid already used in the tenant with a ConflictError", async () => {
    await createOk({ uid: "dup-uid" });
    const again = await create({ uid: "dup-uid" });
    expect(again).toMatchObject({ __typename: "ConflictError", path: "input.uid" });
    // Another tenant may use the same uid.
    const child = await newTenant("uid-child");
    expect((await create({ uid: "dup-uid", tenantId: child })).__typename).toBe("CreateEndpointPayload");
  });

  it("reports every problem in one ValidationError", async () => {
    const res = await create({
      url: "ftp://x",
      events: [],
      secret: "short",
      description: "d".repeat(1025),
      uid: "bad uid",
      headers: [{ name: "host", value: "x" }],
      rateLimitPerSecond: 0,
    });
    expect(paths(res).sort()).toEqual([
      "input.description",
      "input.events",
      "input.headers.0.name",
      "input.rateLimitPerSecond",
      "input.secret",
      "input.uid",
      "input.url",
    ]);
    expect(res.message).toBe("Some fields are invalid");
  });

  it("redacts sensitive header values on read and encrypts them in the row", async () => {
    const token = "Bearer super-secret-token-123";
    const { endpoint } = await createOk({
      headers: [
        { name: "Authorization", value: token },
        { name: "X-Api-Key", value: "k-456" },
        { name: "X-Team", value: "billing" },
      ],
    });
    expect(endpoint.headers).toEqual([
      { name: "Authorization", value: "[REDACTED]" },
      { name: "X-Api-Key", value: "[REDACTED]" },
      { name: "X-Team", value: "billing" },
    ]);
    const app = h.hookgate.app;
    const row = await app.prisma.endpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    const stored = row.headers as { name: string; value: string; encrypted: boolean }[];
    expect(JSON.stringify(stored)).not.toContain("super-secret");
    expect(JSON.stringify(stored)).not.toContain("k-456");
    expect(stored.map((s) => s.encrypted)).toEqual([true, true, false]);
    expect(app.cipher.decrypt(stored[0]!.value)).toBe(token);
    expect(decryptedHeaders(row.headers)).toEqual([
      { name: "Authorization", value: token },
      { name: "X-Api-Key", value: "k-456" },
      { name: "X-Team", value: "billing" },
    ]);

    // Writing back what was read keeps the stored secret rather than storing "[REDACTED]".
    const res = await gqlOk(UPDATE, {
      id: endpoint.id,
      input: { headers: [...endpoint.headers, { name: "X-New", value: "n" }] },
    });
    expect(res.updateEndpoint.endpoint.headers).toHaveLength(4);
    const row2 = await app.prisma.endpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(decryptedHeaders(row2.headers)).toEqual([
      { name: "Authorization", value: token },
      { name: "X-Api-Key", value: "k-456" },
      { name: "X-Team", value: "billing" },
      { name: "X-New", value: "n" },
    ]);
  });
});

describe("with development mode off", () => {
  let strict: TestHookgate;
  beforeAll(async () => {
    strict = await startTestHookgate({ dnsLookup: fakeLookup, config: { allowInsecureUrls: false } });
    await strict.gql(`mutation { createEventType(input: { name: "invoice.paid" }) { __typename } }`);
  });
  afterAll(async () => {
    await strict?.stop();
  });

  const createStrict = async (url: string) =>
    (await strict.gql(CREATE, { input: { url, events: ["invoice.paid"] } })).data.createEndpoint;

  it("refuses http, loopback, private and names resolving to private addresses", async () => {
    for (const url of [
      "http://93.184.216.34/hook",
      "https://127.0.0.1/hook",
      "https://localhost/hook",
      "https://10.0.0.1/hook",
      "https://[::1]/hook",
      "https://internal.hooks.test/hook",
    ]) {
      const res = await createStrict(url);
      expect(res.__typename, url).toBe("ValidationError");
      expect(paths(res), url).toEqual(["input.url"]);
    }
    expect((await createStrict("https://93.184.216.34/hook")).__typename).toBe("CreateEndpointPayload");
    expect((await createStrict("https://public.hooks.test:8443/hook")).__typename).toBe(
      "CreateEndpointPayload",
    );
  });
});

describe("updateEndpoint", () => {
  it("changes only what is given", async () => {
    const { endpoint } = await createOk({ description: "before", rateLimitPerSecond: 5, uid: "upd-1" });
    const res = await gqlOk(UPDATE, {
      id: endpoint.id,
      input: { description: "after", events: ["invoice.*"], includeChildTenants: true },
    });
    expect(res.updateEndpoint.endpoint).toMatchObject({
      description: "after",
      events: ["invoice.*"],
      includeChildTenants: true,
      rateLimitPerSecond: 5,
      uid: "upd-1",
      url: URL_OK,
    });
    const cleared = await gqlOk(UPDATE, { id: endpoint.id, input: { rateLimitPerSecond: null } });
    expect(cleared.updateEndpoint.endpoint.rateLimitPerSecond).toBeNull();
    const invalid = await gqlOk(UPDATE, {
      id: endpoint.id,
      input: { url: "ftp://x", events: ["old.type"], description: "d".repeat(1025) },
    });
    expect(paths(invalid.updateEndpoint).sort()).toEqual([
      "input.description",
      "input.events.0",
      "input.url",
    ]);
  });

  it("disables with reason MANUAL and re-enables, clearing the failure clock", async () => {
    const { endpoint } = await createOk();
    const off = await gqlOk(UPDATE, { id: endpoint.id, input: { status: "DISABLED" } });
    expect(off.updateEndpoint.endpoint).toMatchObject({ status: "DISABLED", disabledReason: "MANUAL" });

    const app = h.hookgate.app;
    await app.prisma.endpoint.update({
      where: { id: endpoint.id },
      data: { disabledReason: "FAILING", failingSince: new Date(Date.now() - 86_400_000) },
    });
    const on = await gqlOk(UPDATE, { id: endpoint.id, input: { status: "ENABLED" } });
    expect(on.updateEndpoint.endpoint).toMatchObject({ status: "ENABLED", disabledReason: null });
    const row = await app.prisma.endpoint.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(row.failingSince).toBeNull();
  });

  it("refuses a uid taken by another endpoint", async () => {
    await createOk({ uid: "taken-uid" });
    const { endpoint } = await createOk({ uid: "free-uid" });
    const res = await gqlOk(UPDATE, { id: endpoint.id, input: { uid: "taken-uid" } });
    expect(res.updateEndpoint).toMatchObject({ __typename: "ConflictError", path: "input.uid" });
    // Re-setting its own uid is no conflict.
    expect(
      (await gqlOk(UPDATE, { id: endpoint.id, input: { uid: "free-uid" } })).updateEndpoint.__typename,
    ).toBe("UpdateEndpointPayload");
  });
});

describe("rotateEndpointSecret", () => {
  it("keeps the previous secret valid for the grace period", async () => {
    const { endpoint, secret: first } = await createOk();
    const before = Date.now();
    const res = (await gqlOk(ROTATE, { id: endpoint.id, input: { gracePeriodSeconds: 3600 } }))
      .rotateEndpointSecret;
    expect(res.__typename).toBe("RotateEndpointSecretPayload");
    expect(res.secret).toMatch(/^whsec_/);
    expect(res.secret).not.toBe(first);
    const secrets = res.endpoint.secrets;
    expect(secrets).toHaveLength(2);
    expect(secrets[0].expiresAt).toBeNull();
    const expires = Date.parse(secrets[1].expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect(await unexpiredSecrets(endpoint.id)).toEqual([res.secret, first]);
  });

  it("uses the configured default grace (24h) when none is given, and takes a given secret", async () => {
    const { endpoint } = await createOk();
    const mine = "my-own-rotated-secret-1234";
    const res = (await gqlOk(ROTATE, { id: endpoint.id, input: { secret: mine } })).rotateEndpointSecret;
    expect(res.secret).toBe(mine);
    const expires = Date.parse(res.endpoint.secrets[1].expiresAt);
    expect(Math.abs(expires - (Date.now() + h.config.secretGraceMs))).toBeLessThan(5000);
    expect(h.config.secretGraceMs).toBe(24 * 3600_000);
    // No input at all is fine too.
    expect((await gqlOk(ROTATE, { id: endpoint.id })).rotateEndpointSecret.__typename).toBe(
      "RotateEndpointSecretPayload",
    );
  });

  it("ends the old secret at once with grace 0 and prunes expired ones", async () => {
    const { endpoint } = await createOk();
    const app = h.hookgate.app;
    const rotated = (await gqlOk(ROTATE, { id: endpoint.id, input: { gracePeriodSeconds: 0 } }))
      .rotateEndpointSecret;
    expect(rotated.endpoint.secrets).toHaveLength(1);
    expect(await unexpiredSecrets(endpoint.id)).toEqual([rotated.secret]);
    expect(await app.prisma.endpointSecret.count({ where: { endpointId: endpoint.id } })).toBe(1);

    // A secret whose grace ran out is not shown, not used, and deleted by the next rotation.
    await gqlOk(ROTATE, { id: endpoint.id, input: { gracePeriodSeconds: 60 } });
    await app.prisma.endpointSecret.updateMany({
      where: { endpointId: endpoint.id, expiresAt: { not: null } },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await gqlOk(GET, { id: endpoint.id })).endpoint.secrets).toHaveLength(1);
    expect(await unexpiredSecrets(endpoint.id)).toHaveLength(1);
    expect(await app.prisma.endpointSecret.count({ where: { endpointId: endpoint.id } })).toBe(2);
    await gqlOk(ROTATE, { id: endpoint.id, input: { gracePeriodSeconds: 60 } });
    expect(await app.prisma.endpointSecret.count({ where: { endpointId: endpoint.id } })).toBe(2);
  });

  it("accepts a grace of 7 days and refuses more, negative, and bad secrets", async () => {
    const { endpoint } = await createOk();
    expect(
      (await gqlOk(ROTATE, { id: endpoint.id, input: { gracePeriodSeconds: 604800 } })).rotateEndpointSecret
        .__typename,
    ).toBe("RotateEndpointSecretPayload");
    for (const grace of [604801, -1]) {
      const res = (await gqlOk(ROTATE, { id: endpoint.id, input: { gracePeriodSeconds: grace } }))
        .rotateEndpointSecret;
      expect(paths(res), String(grace)).toEqual(["input.gracePeriodSeconds"]);
    }
    const bad = (await gqlOk(ROTATE, { id: endpoint.id, input: { secret: "x".repeat(15) } }))
      .rotateEndpointSecret;
    expect(paths(bad)).toEqual(["input.secret"]);
  });
});

describe("deleteEndpoint", () => {
  it("soft-deletes: gone from lists, readable by id, history kept, uid released", async () => {
    const { endpoint } = await createOk({ uid: "to-delete" });
    const app = h.hookgate.app;
    const eventId = newId("event");
    await app.prisma.event.create({
      data: { id: eventId, tenantId: rootId, type: "invoice.paid", payload: {} },
    });
    await app.prisma.delivery.create({
      data: {
        id: newId("delivery"),
        eventId,
        endpointId: endpoint.id,
        tenantId: rootId,
        eventType: "invoice.paid",
      },
    });

    const res = (await gqlOk(DELETE, { id: endpoint.id })).deleteEndpoint;
    expect(res.__typename).toBe("DeleteEndpointPayload");
    expect(res.endpoint.deletedAt).not.toBeNull();

    const read = (await gqlOk(GET, { id: endpoint.id })).endpoint;
    expect(read.id).toBe(endpoint.id);
    expect(read.deletedAt).toBe(res.endpoint.deletedAt);
    const listed = (await gqlOk(LIST, { first: 100, filter: { uid: "to-delete" } })).endpoints;
    expect(listed.totalCount).toBe(0);
    const withDeleted = (await gqlOk(LIST, { first: 100, filter: { includeDeleted: true } })).endpoints;
    expect(withDeleted.edges.map((e: any) => e.node.id)).toContain(endpoint.id);
    expect(await app.prisma.delivery.count({ where: { endpointId: endpoint.id } })).toBe(1);

    for (const [op, vars] of [
      [DELETE, { id: endpoint.id }],
      [UPDATE, { id: endpoint.id, input: { description: "x" } }],
      [ROTATE, { id: endpoint.id }],
    ] as const) {
      const out = Object.values(await gqlOk(op, vars))[0] as any;
      expect(out).toMatchObject({ __typename: "NotFoundError", resourceId: endpoint.id });
    }
    expect((await create({ uid: "to-delete" })).__typename).toBe("CreateEndpointPayload");
  });
});

describe("upsertEndpoint", () => {
  it("creates by uid, then replaces the definition in place", async () => {
    const first = (
      await gqlOk(UPSERT, {
        uid: "per-type:invoice.paid",
        input: { url: URL_OK, events: ["invoice.paid"], description: "v1", rateLimitPerSecond: 3 },
      })
    ).upsertEndpoint;
    expect(first).toMatchObject({ __typename: "UpsertEndpointPayload", created: true });
    expect(first.secret).toMatch(/^whsec_/);
    expect(first.endpoint.uid).toBe("per-type:invoice.paid");

    await gqlOk(UPDATE, { id: first.endpoint.id, input: { status: "DISABLED" } });
    const second = (
      await gqlOk(UPSERT, {
        uid: "per-type:invoice.paid",
        input: { url: "http://127.0.0.1:10/v2", events: ["invoice.*"] },
      })
    ).upsertEndpoint;
    expect(second).toMatchObject({ created: false, secret: null });
    expect(second.endpoint).toMatchObject({
      id: first.endpoint.id,
      url: "http://127.0.0.1:10/v2",
      events: ["invoice.*"],
      description: "",
      rateLimitPerSecond: null,
      status: "DISABLED",
    });
    expect(await unexpiredSecrets(first.endpoint.id)).toEqual([first.secret]);

    // Giving a different secret rotates to it; the old one stays in its grace period.
    const mine = "upserted-secret-value-1";
    await gqlOk(UPSERT, {
      uid: "per-type:invoice.paid",
      input: { url: URL_OK, events: ["*"], secret: mine },
    });
    expect(await unexpiredSecrets(first.endpoint.id)).toEqual([mine, first.secret]);
    await gqlOk(UPSERT, {
      uid: "per-type:invoice.paid",
      input: { url: URL_OK, events: ["*"], secret: mine },
    });
    expect(await unexpiredSecrets(first.endpoint.id)).toEqual([mine, first.secret]);
  });

  it("validates the uid and the input like create", async () => {
    const mismatch = (
      await gqlOk(UPSERT, { uid: "a-uid", input: { url: URL_OK, events: ["*"], uid: "other" } })
    ).upsertEndpoint;
    expect(paths(mismatch)).toEqual(["input.uid"]);
    const badUid = (await gqlOk(UPSERT, { uid: "x".repeat(129), input: { url: URL_OK, events: ["*"] } }))
      .upsertEndpoint;
    expect(badUid.__typename).toBe("ValidationError");
    await gqlOk(UPSERT, { uid: "exists", input: { url: URL_OK, events: ["*"] } });
    const invalid = (await gqlOk(UPSERT, { uid: "exists", input: { url: "ftp://x", events: [] } }))
      .upsertEndpoint;
    expect(paths(invalid).sort()).toEqual(["input.events", "input.url"]);
  });
});

describe("endpoints list", () => {
  it("paginates 25 endpoints by 10 with totalCount, and bounds first", async () => {
    const tenant = await newTenant("paged");
    for (let i = 0; i < 25; i++) await createOk({ tenantId: tenant, uid: `p${i}` });
    const seen: string[] = [];
    let after: string | null = null;
    for (const [i, expected] of [10, 10, 5].entries()) {
      const page: any = (await gqlOk(LIST, { first: 10, after, filter: { tenantId: tenant } })).endpoints;
      expect(page.totalCount).toBe(25);
      expect(page.edges).toHaveLength(expected);
      expect(page.pageInfo.hasNextPage).toBe(i < 2);
      seen.push(...page.edges.map((e: any) => e.node.uid));
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `p${i}`));

    const hundred = (await gqlOk(LIST, { first: 100, filter: { tenantId: tenant } })).endpoints;
    expect(hundred.edges).toHaveLength(25);
    const tooMany = await h.gql(LIST, { first: 101, filter: { tenantId: tenant } });
    expect(tooMany.errors?.[0]?.message).toMatch(/first must be between 0 and 100, got 101/);
  });

  it("filters by status, event type (exact, * and prefix.*) and uid", async () => {
    const tenant = await newTenant("filters");
    const mk = async (uid: string, events: string[]) =>
      (await createOk({ tenantId: tenant, uid, events })).endpoint;
    await mk("exact", ["invoice.paid"]);
    await mk("prefix", ["invoice.*"]);
    await mk("all", ["*"]);
    await mk("customer", ["customer.created"]);
    const deep = await mk("deep", ["invoice.line.*"]);
    await gqlOk(UPDATE, { id: deep.id, input: { status: "DISABLED" } });

    const uids = async (filter: Record<string, unknown>) =>
      (await gqlOk(LIST, { first: 100, filter: { tenantId: tenant, ...filter } })).endpoints.edges
        .map((e: any) => e.node.uid)
        .sort();
    expect(await uids({ eventType: "invoice.paid" })).toEqual(["all", "exact", "prefix"]);
    expect(await uids({ eventType: "invoice.line.added" })).toEqual(["all", "deep", "prefix"]);
    expect(await uids({ eventType: "customer.created" })).toEqual(["all", "customer"]);
    expect(await uids({ eventType: "invoice" })).toEqual(["all"]);
    expect(await uids({ status: "DISABLED" })).toEqual(["deep"]);
    expect(await uids({ status: "ENABLED", eventType: "invoice.line.added" })).toEqual(["all", "prefix"]);
    expect(await uids({ uid: "customer" })).toEqual(["customer"]);
  });
});

describe("tenancy and scopes", () => {
  it("confines every operation to the caller's tenant and its descendants", async () => {
    const a = await newTenant("tenant-a");
    const b = await newTenant("tenant-b");
    const aChild = await newTenant("tenant-a-child", a);
    const keyA = await newKey(["ENDPOINTS_READ", "ENDPOINTS_WRITE"], a);
    const keyB = await newKey(["ENDPOINTS_READ", "ENDPOINTS_WRITE"], b);

    const own = await createOk({}, keyA);
    expect(own.endpoint.tenantId).toBe(a);
    const inChild = await createOk({ tenantId: aChild }, keyA);
    expect(inChild.endpoint.tenantId).toBe(aChild);

    // B sees nothing of A's.
    expect((await gqlOk(GET, { id: own.endpoint.id }, keyB)).endpoint).toBeNull();
    expect((await gqlOk(LIST, { first: 100 }, keyB)).endpoints.totalCount).toBe(0);
    expect((await gqlOk(LIST, { first: 100, filter: { tenantId: a } }, keyB)).endpoints.totalCount).toBe(0);
    for (const [op, vars] of [
      [UPDATE, { id: own.endpoint.id, input: { description: "hijack" } }],
      [DELETE, { id: own.endpoint.id }],
      [ROTATE, { id: own.endpoint.id }],
    ] as const) {
      const out = Object.values(await gqlOk(op, vars, keyB))[0] as any;
      expect(out).toMatchObject({ __typename: "NotFoundError", resourceId: own.endpoint.id });
    }
    const intoA = await create({ tenantId: a }, keyB);
    expect(intoA).toMatchObject({ __typename: "NotFoundError", resourceId: a });
    // Moving an endpoint into a tenant one cannot see is refused too.
    const move = (await gqlOk(UPDATE, { id: own.endpoint.id, input: { tenantId: b } }, keyA)).updateEndpoint;
    expect(move.__typename).toBe("NotFoundError");

    // A sees its child's endpoints; the child's key does not see A's.
    const aList = (await gqlOk(LIST, { first: 100 }, keyA)).endpoints.edges.map((e: any) => e.node.id);
    expect(aList.sort()).toEqual([own.endpoint.id, inChild.endpoint.id].sort());
    const keyChild = await newKey(["ENDPOINTS_READ"], aChild);
    expect((await gqlOk(GET, { id: own.endpoint.id }, keyChild)).endpoint).toBeNull();
    expect((await gqlOk(GET, { id: inChild.endpoint.id }, keyChild)).endpoint.id).toBe(inChild.endpoint.id);

    // Unknown and wrong-kind ids are simply not found.
    expect((await gqlOk(GET, { id: "ep_nope" })).endpoint).toBeNull();
    expect((await gqlOk(GET, { id: rootId })).endpoint).toBeNull();
  });

  it("needs ENDPOINTS_READ to read and ENDPOINTS_WRITE to write", async () => {
    const reader = await newKey(["ENDPOINTS_READ"]);
    const writer = await newKey(["ENDPOINTS_WRITE"]);
    const denied = await h.gql(CREATE, { input: { url: URL_OK, events: ["*"] } }, reader);
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // Reading works on this test's own row, whatever earlier tests left.
    const mine = await createOk();
    const read = await h.gql(GET, { id: mine.endpoint.id }, reader);
    expect(read.errors).toBeUndefined();
    expect(read.data.endpoint.id).toBe(mine.endpoint.id);
    expect((await gqlOk(LIST, { first: 1 }, reader)).endpoints.totalCount).toBeGreaterThan(0);
    const created = await createOk({}, writer);
    const cannotRead = await h.gql(LIST, { first: 1 }, writer);
    expect(cannotRead.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(created.endpoint.id).toMatch(/^ep_/);
  });
});
