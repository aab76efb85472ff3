/**
 * Auth matrix: bad credentials over HTTP and graphql-ws, keys revoked while a socket is open,
 * and a scope matrix DERIVED FROM THE SCHEMA: every root field must declare authScopes, refuses
 * callers without a key, and (when it needs a scope) refuses a key holding every other scope
 * with FORBIDDEN before its arguments are even looked at.
 */
import { GraphQLNonNull, type GraphQLObjectType, getNamedType, isLeafType, isObjectType } from "graphql";
import { type Client, createClient } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { liveUpdates } from "../../src/domain/live.js";
import { schema } from "../../src/graphql/index.js";
import { hashApiKey } from "../../src/security/api-keys.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  ALL_SCOPES,
  expectNothingWritten,
  expectOnlyError,
  grants,
  jsonHeaders,
  mentionedScopes,
  minimalCall,
  rawRequest,
  rootFields,
  type Scope,
} from "../support/matrix.js";
import { Collector, emitUpdate, signalFor, untilSubscribed } from "./live-fixtures.js";
import { createKey, insertDelivery, insertEndpoint, insertEvent, rootTenant } from "./read-fixtures.js";

const ROOTS = rootFields(schema);
const NO_KEY_MESSAGE = "Authentication required: send Authorization: Bearer <api key>";
const MALFORMED = "Malformed Authorization header: expected 'Bearer <api key>'";
const MUTATE = 'mutation { createTenant(input: { name: "auth matrix" }) { __typename } }';
const UPDATES = "subscription { deliveryUpdated { delivery { id status } } }";

describe("every root field declares auth", () => {
  it("finds the operations of the public contract (the walk itself works)", () => {
    const names = ROOTS.map((r) => `${r.kind}.${r.name}`);
    for (const expected of [
      "query.viewer",
      "query.endpoints",
      "query.deliveries",
      "mutation.createEndpoint",
      "mutation.revokeApiKey",
      "mutation.publishEvent",
      "subscription.deliveryUpdated",
    ]) {
      expect(names).toContain(expected);
    }
  });

  it.each(ROOTS.map((r) => ({ label: `${r.kind}.${r.name}`, r })))(
    "$label has authScopes that refuse anonymous callers",
    ({ r }) => {
      expect(r.authScopes, `${r.kind}.${r.name} has no authScopes: every root field must`).toBeDefined();
      expect(grants(r.authScopes, new Set(), false)).toBe(false);
    },
  );
});

describe("HTTP credentials", () => {
  let h: TestHookgate;
  let revokedKey: string;
  let expiredKey: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    const root = await rootTenant(h);
    revokedKey = await createKey(h, root.id, ["ADMIN"]);
    expiredKey = await createKey(h, root.id, ["ADMIN"]);
    const prisma = h.hookgate.app.prisma;
    // Changed in the database directly, before the keys are ever used (a key used first would be
    // served from the process's API-key cache until HOOKGATE_API_KEY_CACHE_MS ran out).
    await prisma.apiKey.update({ where: { hash: hashApiKey(revokedKey) }, data: { revokedAt: new Date() } });
    await prisma.apiKey.update({
      where: { hash: hashApiKey(expiredKey) },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ROWS: { name: string; authorization: (h: TestHookgate) => string | null; message: string }[] = [
    { name: "no Authorization header", authorization: () => null, message: NO_KEY_MESSAGE },
    { name: "empty Authorization header", authorization: () => "", message: NO_KEY_MESSAGE },
    { name: "Basic scheme", authorization: () => "Basic x", message: MALFORMED },
    {
      name: "Basic scheme with the real key",
      authorization: (h) => `Basic ${h.adminKey}`,
      message: MALFORMED,
    },
    { name: "Bearer with no key", authorization: () => "Bearer", message: MALFORMED },
    {
      name: "Bearer with two keys",
      authorization: (h) => `Bearer ${h.adminKey} ${h.adminKey}`,
      message: MALFORMED,
    },
    {
      name: "two Bearer credentials",
      authorization: (h) => `Bearer ${h.adminKey}, Bearer ${h.adminKey}`,
      message: MALFORMED,
    },
    { name: "key without a scheme", authorization: (h) => h.adminKey, message: MALFORMED },
    {
      name: "unknown key",
      authorization: () => "Bearer hk_notarealkey0000000000000000000000000000000",
      message: "Invalid API key",
    },
    {
      name: "the admin key with one more character",
      authorization: (h) => `Bearer ${h.adminKey}x`,
      message: "Invalid API key",
    },
    {
      name: "the admin key minus its last character",
      authorization: (h) => `Bearer ${h.adminKey.slice(0, -1)}`,
      message: "Invalid API key",
    },
    { name: "revoked key", authorization: () => `Bearer ${revokedKey}`, message: "API key has been revoked" },
    { name: "expired key", authorization: () => `Bearer ${expiredKey}`, message: "API key has expired" },
  ];

  it.each(ROWS)("$name → UNAUTHENTICATED ($message), query and mutation", async (row) => {
    const authorization = row.authorization(h);
    const headers = jsonHeaders(null, authorization === null ? {} : { authorization });
    for (const query of ["{ viewer { keyId } }", MUTATE]) {
      const res = await expectNothingWritten(h, () =>
        rawRequest(h, { headers, body: JSON.stringify({ query }) }),
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      expectOnlyError(res.json, { message: row.message, code: "UNAUTHENTICATED" });
      // The response never echoes the credential.
      const credential = authorization?.replace(/^\w+\s*/, "") ?? "";
      if (credential.length >= 10) expect(res.text).not.toContain(credential);
    }
    // A graphql-response+json client gets a presented key's failure as 401 with a challenge
    // (RFC 6750); with no key at all the operation ran (anonymous) and is answered 200.
    const spec = await rawRequest(h, {
      headers: { ...headers, accept: "application/graphql-response+json" },
      body: JSON.stringify({ query: "{ viewer { keyId } }" }),
    });
    expectOnlyError(spec.json, { message: row.message, code: "UNAUTHENTICATED" });
    if (row.message === NO_KEY_MESSAGE) {
      expect(spec.status).toBe(200);
      expect(spec.headers.get("www-authenticate")).toBeNull();
    } else {
      expect(spec.status).toBe(401);
      expect(spec.headers.get("www-authenticate")).toBe(
        `Bearer realm="hookgate", error="invalid_token", error_description="${row.message.replaceAll('"', "'")}"`,
      );
    }
  });

  it.each([
    { name: "no key", key: () => "", code: "UNAUTHENTICATED", message: NO_KEY_MESSAGE },
    { name: "unknown key", key: () => "hk_unknown", code: "UNAUTHENTICATED", message: "Invalid API key" },
    {
      name: "revoked key",
      key: () => revokedKey,
      code: "UNAUTHENTICATED",
      message: "API key has been revoked",
    },
    { name: "expired key", key: () => expiredKey, code: "UNAUTHENTICATED", message: "API key has expired" },
  ])("deliveryUpdated over SSE with $name → $code, stream ends", async ({ key, code, message }) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "text/event-stream",
    };
    if (key()) headers.authorization = `Bearer ${key()}`;
    const res = await fetch(h.graphqlUrl, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: UPDATES }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    // The stream must end by itself (reading it to the end is bounded by the timeout above).
    const text = await res.text();
    const events = text
      .split("\n\n")
      .map((block) => block.split("\n"))
      .filter((lines) => lines.some((l) => l.startsWith("event: next")));
    expect(events).toHaveLength(1);
    const payload = JSON.parse(events[0]!.find((l) => l.startsWith("data:"))!.slice(5));
    expectOnlyError(payload, { message, code });
    expect(text).toContain("event: complete");
  });

  it("accepts the scheme in any case (RFC 9110) — the rows above fail for their stated reason", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const res = await rawRequest(h, {
        headers: jsonHeaders(null, { authorization: `${scheme} ${h.adminKey}` }),
        body: JSON.stringify({ query: "{ viewer { keyId } }" }),
      });
      expect(res.json.data?.viewer?.keyId, res.text).toMatch(/^key_/);
    }
  });
});

describe("scope matrix derived from the schema", () => {
  let h: TestHookgate;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    h = await startTestHookgate();
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function keyWith(scopes: Scope[]): Promise<string> {
    const id = [...scopes].sort().join(",");
    let key = keys.get(id);
    if (!key) {
      key = await createKey(h, (await rootTenant(h)).id, scopes);
      keys.set(id, key);
    }
    return key;
  }

  const NON_ADMIN = ALL_SCOPES.filter((s) => s !== "ADMIN");
  const scoped = ROOTS.filter((r) => r.authScopes !== undefined).map((r) => {
    const needed = mentionedScopes(r.authScopes);
    const others = NON_ADMIN.filter((s) => !needed.includes(s));
    return { label: `${r.kind}.${r.name}`, r, needed, others };
  });
  const needingScope = scoped.filter(({ r, others }) => !grants(r.authScopes, new Set(others)));

  it("covers every field that needs a scope", () => {
    // Sanity: the walk found scoped fields of every kind.
    expect(needingScope.map((s) => s.r.kind)).toEqual(
      expect.arrayContaining(["query", "mutation", "subscription"]),
    );
    expect(needingScope.length).toBeGreaterThanOrEqual(15);
  });

  it.each(scoped.filter((s) => s.r.kind !== "subscription"))(
    "$label → UNAUTHENTICATED without a key",
    async ({ r }) => {
      const { query, variables } = minimalCall(r);
      const res = await expectNothingWritten(h, () => h.gql(query, variables, null));
      expect(res.errors?.[0], JSON.stringify(res)).toMatchObject({
        message: NO_KEY_MESSAGE,
        extensions: { code: "UNAUTHENTICATED" },
      });
    },
  );

  it.each(needingScope.filter((s) => s.r.kind !== "subscription"))(
    "$label → FORBIDDEN for a key with every scope but $needed",
    async ({ r, needed, others }) => {
      const { query, variables } = minimalCall(r);
      const key = await keyWith(others);
      const res = await expectNothingWritten(h, () => h.gql(query, variables, key));
      expect(res.status).toBe(200);
      expect(res.errors, JSON.stringify(res)).toHaveLength(1);
      const [error] = res.errors!;
      expect(error!.extensions?.code).toBe("FORBIDDEN");
      expect(error!.path).toEqual([r.name]);
      expect(error!.message).toMatch(/^Your API key lacks the scope for this field/);
      expect(needed).toContain(error!.extensions?.requiredScope);
      expect((res.data as Record<string, unknown> | null)?.[r.name] ?? null).toBeNull();

      // The same dummy call with the needed scope gets past auth (so FORBIDDEN above was about the scope).
      const allowed = await h.gql(query, variables, await keyWith(needed));
      for (const e of allowed.errors ?? [])
        expect(e.extensions?.code).not.toMatch(/FORBIDDEN|UNAUTHENTICATED/);
    },
  );

  it.each(needingScope.filter((s) => s.r.kind === "subscription"))(
    "$label → FORBIDDEN over graphql-ws for a key with every scope but $needed",
    async ({ r, others, needed }) => {
      const { query, variables } = minimalCall(r);
      const client = wsClient(h, await keyWith(others));
      try {
        const results = subscribe(client.client, query, variables);
        await results.ended(5_000).catch(() => {});
        const first = results.results[0] ?? { errors: results.error as never };
        expect(first.errors?.[0], JSON.stringify(results)).toMatchObject({
          extensions: { code: "FORBIDDEN" },
        });
        expect(needed).toContain(first.errors?.[0]?.extensions?.requiredScope);
        expect(first.data ?? null).toBeNull();
      } finally {
        await client.client.dispose();
      }
    },
  );

  describe("nested fields with their own scopes", () => {
    /** Every non-root object field with authScopes, with the root `T(id: ID!)` query that reaches it. */
    const NESTED = Object.values(schema.getTypeMap())
      .filter((t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith("__"))
      .filter((t) => !["Query", "Mutation", "Subscription"].includes(t.name))
      .flatMap((t) =>
        Object.values(t.getFields())
          .map((f) => ({
            f,
            map: (f.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes,
          }))
          .filter(({ map }) => map !== undefined)
          .map(({ f, map }) => {
            const root = ROOTS.find(
              (r) =>
                r.kind === "query" &&
                getNamedType(r.field.type).name === t.name &&
                r.field.args.some(
                  (a) => a.name === "id" && (String(a.type) === "ID!" || String(a.type) === "ID"),
                ),
            );
            // A key the root field lets in but the nested field does not.
            const scope = root
              ? mentionedScopes(root.authScopes).find(
                  (s) => grants(root.authScopes, new Set([s])) && !grants(map, new Set([s])),
                )
              : undefined;
            return { label: `${t.name}.${f.name}`, type: t.name, field: f, map, root, scope };
          })
          // A guard its root query already implies (Delivery.attempts under delivery(id), both
          // DELIVERIES_READ) is reachable without it only through mutation payloads: the
          // replayDelivery row below covers those.
          .filter((n) => !n.root || n.scope !== undefined || !impliedBy(n.root.authScopes, n.map)),
      );

    /** True when every key that passes `outer` also passes `inner`. */
    function impliedBy(outer: unknown, inner: unknown): boolean {
      return mentionedScopes(outer).every((s) => !grants(outer, new Set([s])) || grants(inner, new Set([s])));
    }

    it("finds them, each reachable from a root query by id", () => {
      expect(NESTED.length).toBeGreaterThanOrEqual(3);
      for (const n of NESTED) {
        expect(n.root, `${n.label}: no root query reaches ${n.type} by id`).toBeDefined();
        expect(n.scope, `${n.label}: no key passes ${n.root?.name} but not ${n.label}`).toBeDefined();
      }
    });

    it.each(NESTED)(
      "$label → FORBIDDEN for a key with only $scope",
      async ({ type, field, root, scope, map }) => {
        const ids = await realObjects();
        const id = ids[type];
        expect(id, `no ${type} object made for this test`).toBeDefined();
        const selection = isLeafType(getNamedType(field.type)) ? "" : " { __typename }";
        const args = field.args.filter((a) => a.type instanceof GraphQLNonNull);
        expect(args, `${field.name} needs arguments this test does not build`).toEqual([]);
        const query = `query($id: ID!) { ${root!.name}(id: $id) { id ${field.name}${selection} } }`;
        const key = await keyWith([scope!]);
        const res = await expectNothingWritten(h, () => h.gql(query, { id }, key));
        expect(res.errors, JSON.stringify(res)).toHaveLength(1);
        expect(res.errors![0]).toMatchObject({
          path: [root!.name, field.name],
          extensions: { code: "FORBIDDEN" },
        });
        expect(mentionedScopes(map)).toContain(res.errors![0]!.extensions?.requiredScope);
        // Control: with ADMIN the same query returns the nested field.
        const admin = await h.gql(query, { id });
        expect(admin.errors, JSON.stringify(admin)).toBeUndefined();
        expect((admin.data as Record<string, any>)[root!.name][field.name]).toBeDefined();
      },
    );

    // Delivery.attempts and Delivery.event need DELIVERIES_READ: a key with DELIVERIES_WRITE alone
    // gets deliveries back from replayDelivery, but not their attempt bodies or event payloads.
    // One field per request: both are non-null, so the first refusal nulls the delivery and
    // graphql-js reports only that one.
    it.each([
      ["attempts", "attempts { totalCount edges { node { requestBody responseBody } } }"],
      ["event", "event { payload }"],
    ])(
      "a DELIVERIES_WRITE-only key cannot read Delivery.%s through replayDelivery",
      async (field, selection) => {
        const ids = await realObjects();
        const key = await keyWith(["DELIVERIES_WRITE"]);
        const res = await h.gql(
          `mutation($id: ID!) { replayDelivery(id: $id) { ... on ReplayDeliveryPayload { delivery { id ${selection} } } } }`,
          { id: ids.Delivery },
          key,
        );
        const codes = (res.errors ?? []).map((e) => [e.path?.join("."), e.extensions?.code]);
        expect(codes).toEqual([[`replayDelivery.delivery.${field}`, "FORBIDDEN"]]);
        expect(JSON.stringify(res.data ?? null)).not.toMatch(/requestBody|payload/);
      },
    );

    let made: Record<string, string> | null = null;
    /** One endpoint, event and delivery (ids by type name), made once. */
    async function realObjects(): Promise<Record<string, string>> {
      if (made) return made;
      ok(await h.gql(`mutation { createEventType(input: { name: "nested.scope" }) { __typename } }`));
      const endpoint = ok(
        await h.gql(
          `mutation { createEndpoint(input: { url: "http://127.0.0.1:9/", events: ["nested.scope"] }) {
            ... on CreateEndpointPayload { endpoint { id } } } }`,
        ),
      ).createEndpoint.endpoint.id as string;
      const event = ok(
        await h.gql(
          `mutation { publishEvent(input: { type: "nested.scope", payload: {} }) {
            ... on PublishEventPayload { event { id } } } }`,
        ),
      ).publishEvent.event.id as string;
      const delivery = await h.hookgate.app.prisma.delivery.findFirstOrThrow({ where: { eventId: event } });
      made = { Endpoint: endpoint, Event: event, Delivery: delivery.id };
      return made;
    }
  });
});

interface WsHandle {
  client: Client;
  closed: Promise<{ code: number; reason: string }>;
}

function wsClient(h: TestHookgate, key: string | null, connectionParams?: Record<string, unknown>): WsHandle {
  let resolveClosed: (e: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((r) => {
    resolveClosed = r;
  });
  const client = createClient({
    url: h.graphqlUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: connectionParams ?? (key === null ? {} : { authorization: `Bearer ${key}` }),
    retryAttempts: 0,
    lazy: true,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        resolveClosed({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  return { client, closed };
}

function subscribe(client: Client, query: string, variables?: Record<string, unknown>): Collector {
  const results = new Collector();
  client.subscribe(
    { query, variables },
    {
      next: (r) => results.push(r as never),
      error: (e) => results.fail(e),
      complete: () => results.complete(),
    },
  );
  return results;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref()),
  ]);
}

describe("graphql-ws credentials", () => {
  let h: TestHookgate;
  const handles: WsHandle[] = [];
  const open = (key: string | null, params?: Record<string, unknown>) => {
    const handle = wsClient(h, key, params);
    handles.push(handle);
    return handle;
  };

  beforeAll(async () => {
    h = await startTestHookgate();
  });
  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.client.dispose();
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function freshKey(scopes: Scope[] = ["DELIVERIES_READ"]) {
    const key = await createKey(h, (await rootTenant(h)).id, scopes);
    const id = ok(await h.gql("{ viewer { keyId } }", {}, key)).viewer.keyId as string;
    return { key, id };
  }
  const revoke = (id: string) => h.gql("mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", { id });

  const MISSING = "Missing API key: send connectionParams { authorization: 'Bearer <api key>' }";
  const WS_MALFORMED = "Malformed authorization: expected 'Bearer <api key>'";
  const CONNECT_ROWS: {
    name: string;
    params: (h: TestHookgate) => Promise<Record<string, unknown>>;
    reason: string;
  }[] = [
    { name: "no connectionParams", params: async () => ({}), reason: MISSING },
    {
      name: "authorization not a string",
      params: async (h) => ({ authorization: [`Bearer ${h.adminKey}`] }),
      reason: WS_MALFORMED,
    },
    {
      name: "Basic scheme",
      params: async (h) => ({ authorization: `Basic ${h.adminKey}` }),
      reason: WS_MALFORMED,
    },
    {
      name: "key without Bearer",
      params: async (h) => ({ authorization: h.adminKey }),
      reason: WS_MALFORMED,
    },
    { name: "Bearer with no key", params: async () => ({ authorization: "Bearer " }), reason: WS_MALFORMED },
    {
      name: "two keys",
      params: async (h) => ({ authorization: `Bearer ${h.adminKey} ${h.adminKey}` }),
      reason: WS_MALFORMED,
    },
    {
      name: "unknown key",
      params: async () => ({ authorization: "Bearer hk_unknown" }),
      reason: "Invalid API key",
    },
    {
      name: "revoked key",
      params: async () => {
        const { key, id } = await freshKey();
        await revoke(id);
        return { authorization: `Bearer ${key}` };
      },
      reason: "API key has been revoked",
    },
    {
      name: "expired key",
      params: async (h) => {
        const { key, id } = await freshKey();
        await h.hookgate.app.prisma.apiKey.update({
          where: { id },
          data: { expiresAt: new Date(Date.now() - 1) },
        });
        return { authorization: `Bearer ${key}` };
      },
      reason: "API key has expired",
    },
    {
      name: "key in a param name that is not accepted",
      params: async (h) => ({ token: h.adminKey, apiKey: h.adminKey, headers: { "x-api-key": h.adminKey } }),
      reason: MISSING,
    },
  ];

  it.each(CONNECT_ROWS)("$name → closed 4401 ($reason), the client's error, no result", async (row) => {
    const handle = open(null, await row.params(h));
    const results = subscribe(handle.client, UPDATES);
    expect(await within(handle.closed, 5_000, "close")).toEqual({ code: 4401, reason: row.reason });
    await results.ended(5_000);
    expect(results.results).toEqual([]);
    // 4401 is fatal for graphql-ws clients: the subscription ends with the close as its error.
    expect(results.error).toMatchObject({ code: 4401, reason: row.reason });
  });

  it.each([
    { spelling: "authorization", params: (k: string) => ({ authorization: `Bearer ${k}` }) },
    { spelling: "Authorization", params: (k: string) => ({ Authorization: `Bearer ${k}` }) },
    {
      spelling: "headers.authorization",
      params: (k: string) => ({ headers: { authorization: `Bearer ${k}` } }),
    },
    {
      spelling: "headers.Authorization",
      params: (k: string) => ({ headers: { Authorization: `Bearer ${k}` } }),
    },
  ])("a valid key in connectionParams.$spelling connects and runs as that key", async ({ params }) => {
    const { key, id } = await freshKey();
    const handle = open(null, params(key));
    const results = subscribe(handle.client, "{ viewer { keyId } }");
    await results.ended(5_000);
    expect(results.error).toBeNull();
    expect(results.results).toEqual([{ data: { viewer: { keyId: id } } }]);
  });

  it("revoked while connected: the next subscribe is refused and the socket closes with 4401", async () => {
    const { key, id } = await freshKey();
    const handle = open(key);
    const first = subscribe(handle.client, UPDATES);
    await untilSubscribed(liveUpdates(h.hookgate.app.db), 1);
    expect(first.error).toBeNull();
    await revoke(id);
    const second = subscribe(handle.client, UPDATES);
    expect(await within(handle.closed, 5_000, "close")).toEqual({
      code: 4401,
      reason: "API key has been revoked",
    });
    await second.ended(5_000);
    await first.ended(5_000);
    // Whatever the second subscription saw, it was never data.
    for (const r of second.results) expect(r.data ?? null).toBeNull();
  });

  it("revoked while results flow: the socket closes with 4401 within the re-check interval", async () => {
    const app = h.hookgate.app;
    const root = await rootTenant(h);
    const endpoint = await insertEndpoint(app, root.id);
    const event = await insertEvent(app, root.id, "auth.flow");
    const delivery = await insertDelivery(app, event, endpoint, { status: "PENDING" });
    const { key, id } = await freshKey();
    const handle = open(key);
    const results = subscribe(handle.client, UPDATES);
    const hub = liveUpdates(app.db);
    await untilSubscribed(hub, 1);
    await emitUpdate(app.db, signalFor(delivery, root.path, "SENDING"));
    const [update] = await results.take(1);
    expect(update?.data?.deliveryUpdated.delivery.id).toBe(delivery.id);

    await revoke(id);
    // Keep results flowing; the server re-checks the key at most every ~2 s while it sends.
    let closed: { code: number; reason: string } | null = null;
    void handle.closed.then((c) => {
      closed = c;
    });
    const deadline = Date.now() + 8_000;
    while (!closed && Date.now() < deadline) {
      await emitUpdate(app.db, signalFor(delivery, root.path, "RETRYING"));
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(closed).toEqual({ code: 4401, reason: "API key has been revoked" });
    const seen = results.results.length;
    await emitUpdate(app.db, signalFor(delivery, root.path, "FAILED"));
    await new Promise((r) => setTimeout(r, 300));
    expect(results.results.length).toBe(seen);
  });
});
