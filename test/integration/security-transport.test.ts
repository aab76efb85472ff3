/**
 * Bad-input matrix, transport and GraphQL layer: every row sends one hostile or malformed
 * request over real HTTP and asserts the exact status, error shape and x-request-id, and that
 * no table gained or lost a row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  countRows,
  expectNothingWritten,
  expectOnlyError,
  expectRequestId,
  jsonHeaders,
  type RawRequest,
  rawRequest,
} from "../support/matrix.js";
import {
  countPrismaOperations,
  insertAttempt,
  insertDelivery,
  insertEndpoint,
  insertEvent,
} from "./read-fixtures.js";

/** Would create a tenant if it ran: every refusal below must leave `tenants` as it was. */
const MUTATE = 'mutation { createTenant(input: { name: "matrix" }) { __typename } }';
const VIEWER = "{ viewer { keyId } }";
const CSRF = {
  message:
    "Refused as a possible cross-site request: send an Authorization header, a JSON body (content-type: application/json), or the x-graphql-yoga-csrf header",
  code: "CSRF_PREVENTED",
};

interface Row {
  name: string;
  request: (h: TestHookgate) => RawRequest;
  status: number;
  /** The single top-level error; null: no JSON body at all. */
  error: { message: string | RegExp; code?: string | null } | null;
}

const post = (key: string, body: unknown, extra: Record<string, string> = {}): RawRequest => ({
  headers: jsonHeaders(key, extra),
  body: typeof body === "string" ? body : JSON.stringify(body),
});

function formBody(): FormData {
  const form = new FormData();
  form.set("operations", JSON.stringify({ query: MUTATE }));
  form.set("map", "{}");
  return form;
}

/** A body of exactly `bytes` bytes that runs MUTATE. */
function paddedBody(bytes: number): string {
  const shell = JSON.stringify({ query: MUTATE, variables: { pad: "" } });
  return shell.replace('"pad":""', `"pad":"${"a".repeat(bytes - shell.length)}"`);
}

/** UTF-8 bytes with an invalid sequence (0xFF 0xFE, a lone continuation byte) spliced in. */
function withInvalidUtf8(before: string, after: string): Uint8Array {
  return Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(after)]);
}

const ROWS: Row[] = [
  {
    name: "malformed JSON",
    request: (h) => post(h.adminKey, `{"query": "mutation {`),
    status: 400,
    error: { message: "POST body sent invalid JSON.", code: "BAD_REQUEST" },
  },
  {
    name: "JSON body that is a string",
    request: (h) => post(h.adminKey, JSON.stringify(MUTATE)),
    status: 400,
    error: { message: "POST body is expected to be object but received string", code: "BAD_REQUEST" },
  },
  {
    name: "JSON body null",
    request: (h) => post(h.adminKey, "null"),
    status: 400,
    error: { message: "POST body is expected to be object but received null", code: "BAD_REQUEST" },
  },
  {
    name: "batched operations",
    request: (h) => post(h.adminKey, [{ query: MUTATE }, { query: MUTATE }]),
    status: 400,
    error: { message: "Batching is not supported.", code: "BAD_REQUEST" },
  },
  {
    name: "invalid UTF-8 inside a variable",
    request: (h) => ({
      headers: jsonHeaders(h.adminKey),
      body: withInvalidUtf8(
        '{"query":"mutation($n: String!) { createTenant(input: { name: $n }) { __typename } }","variables":{"n":"x',
        '"}}',
      ),
    }),
    status: 400,
    error: { message: "POST body is not valid UTF-8.", code: "BAD_REQUEST" },
  },
  {
    name: "invalid UTF-8 inside the query",
    request: (h) => ({
      headers: jsonHeaders(h.adminKey),
      body: withInvalidUtf8(`{"query":"${MUTATE} `, '"}'),
    }),
    status: 400,
    error: { message: "POST body is not valid UTF-8.", code: "BAD_REQUEST" },
  },
  {
    name: "missing query",
    request: (h) => post(h.adminKey, { variables: {} }),
    status: 200,
    error: { message: "Must provide query string.", code: "BAD_REQUEST" },
  },
  {
    name: "missing query (graphql-response+json client)",
    request: (h) => post(h.adminKey, { variables: {} }, { accept: "application/graphql-response+json" }),
    status: 400,
    error: { message: "Must provide query string.", code: "BAD_REQUEST" },
  },
  {
    name: "query that is not a string",
    request: (h) => post(h.adminKey, { query: 5 }),
    status: 400,
    error: { message: 'Expected "query" param to be a string, but given number.', code: "BAD_REQUEST" },
  },
  {
    name: "variables that are not an object",
    request: (h) => post(h.adminKey, { query: MUTATE, variables: "x" }),
    status: 400,
    error: { message: /variables/, code: "BAD_REQUEST" },
  },
  {
    name: "unknown operationName",
    request: (h) => post(h.adminKey, { query: MUTATE, operationName: "Other" }),
    status: 400,
    error: {
      message: "Could not determine what operation to execute.",
      code: "OPERATION_RESOLUTION_FAILURE",
    },
  },
  {
    name: "syntax error",
    request: (h) => post(h.adminKey, { query: "mutation { createTenant(" }),
    status: 200,
    error: { message: /^Syntax Error/, code: "GRAPHQL_PARSE_FAILED" },
  },
  {
    name: "text/plain POST (no preflight)",
    request: (h) => ({
      headers: { "content-type": "text/plain", authorization: `Bearer ${h.adminKey}` },
      body: JSON.stringify({ query: MUTATE }),
    }),
    status: 403,
    error: CSRF,
  },
  {
    name: "form-urlencoded POST (no preflight)",
    request: (h) => ({
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Bearer ${h.adminKey}`,
      },
      body: `query=${encodeURIComponent(MUTATE)}`,
    }),
    status: 403,
    error: CSRF,
  },
  {
    name: "multipart POST (no preflight)",
    request: (h) => ({ headers: { authorization: `Bearer ${h.adminKey}` }, body: formBody() }),
    status: 403,
    error: CSRF,
  },
  {
    name: "POST without content-type",
    request: (h) => ({
      headers: { authorization: `Bearer ${h.adminKey}` },
      body: JSON.stringify({ query: MUTATE }),
    }),
    status: 403,
    error: CSRF,
  },
  {
    name: "multipart POST with the CSRF header (uploads are off)",
    request: (h) => ({
      headers: { authorization: `Bearer ${h.adminKey}`, "x-graphql-yoga-csrf": "1" },
      body: formBody(),
    }),
    status: 415,
    error: null,
  },
  {
    name: "text/plain POST with the CSRF header",
    request: (h) => ({
      headers: {
        "content-type": "text/plain",
        authorization: `Bearer ${h.adminKey}`,
        "x-graphql-yoga-csrf": "1",
      },
      body: JSON.stringify({ query: MUTATE }),
    }),
    status: 415,
    error: null,
  },
  {
    name: "GET query without Authorization or a preflight header",
    request: () => ({ method: "GET", search: `?query=${encodeURIComponent(VIEWER)}`, headers: {} }),
    status: 403,
    error: CSRF,
  },
  {
    name: "GET query with a wrong key (passes CSRF prevention, fails authentication)",
    request: () => ({
      method: "GET",
      search: `?query=${encodeURIComponent(VIEWER)}`,
      headers: { authorization: "Bearer hk_wrong", accept: "application/graphql-response+json" },
    }),
    status: 401,
    error: { message: "Invalid API key", code: "UNAUTHENTICATED" },
  },
  {
    name: "GET mutation with Authorization",
    request: (h) => ({
      method: "GET",
      search: `?query=${encodeURIComponent(MUTATE)}`,
      headers: { authorization: `Bearer ${h.adminKey}` },
    }),
    status: 405,
    error: { message: "Can only perform a mutation operation from a POST request.", code: "BAD_REQUEST" },
  },
  {
    name: "GET mutation (with the CSRF header)",
    request: (h) => ({
      method: "GET",
      search: `?query=${encodeURIComponent(MUTATE)}`,
      headers: { authorization: `Bearer ${h.adminKey}`, "x-graphql-yoga-csrf": "1" },
    }),
    status: 405,
    error: { message: "Can only perform a mutation operation from a POST request.", code: "BAD_REQUEST" },
  },
  {
    name: "PUT",
    request: (h) => ({ method: "PUT", ...post(h.adminKey, { query: MUTATE }) }),
    status: 405,
    error: { message: "GraphQL only supports GET and POST requests.", code: "BAD_REQUEST" },
  },
  {
    name: "body one byte past maxRequestBytes",
    request: (h) => post(h.adminKey, paddedBody(h.config.maxRequestBytes + 1)),
    status: 413,
    error: {
      message: "Request body too large: 1048577 bytes exceeds the limit of 1048576",
      code: "PAYLOAD_TOO_LARGE",
    },
  },
  {
    name: "chunked POST without Content-Length",
    request: (h) => {
      const bytes = new TextEncoder().encode(JSON.stringify({ query: MUTATE }));
      return {
        headers: jsonHeaders(h.adminKey),
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes);
            controller.close();
          },
        }),
      };
    },
    status: 411,
    error: { message: "Content-Length is required", code: "LENGTH_REQUIRED" },
  },
  {
    name: "wrong-typed variable (string for Int)",
    request: (h) =>
      post(h.adminKey, {
        query: "query($f: Int) { endpoints(first: $f) { totalCount } }",
        variables: { f: "x" },
      }),
    status: 400,
    error: { message: 'Variable "$f" got invalid value "x"; Int cannot represent non-integer value: "x"' },
  },
  {
    name: "wrong-typed variable (object for an input's String)",
    request: (h) =>
      post(h.adminKey, {
        query: "mutation($i: CreateTenantInput!) { createTenant(input: $i) { __typename } }",
        variables: { i: { name: { $ne: 1 } } },
      }),
    status: 400,
    error: { message: /^Variable "\$i" got invalid value .*String cannot represent a non string value/ },
  },
  {
    name: "missing required variable",
    request: (h) =>
      post(h.adminKey, {
        query: "mutation($i: CreateTenantInput!) { createTenant(input: $i) { __typename } }",
      }),
    status: 400,
    error: { message: 'Variable "$i" of required type "CreateTenantInput!" was not provided.' },
  },
  {
    name: "unknown enum value in a variable",
    request: (h) =>
      post(h.adminKey, {
        query: "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename } }",
        variables: { i: { name: "k", scopes: ["ROOT"] } },
      }),
    status: 400,
    error: {
      message: /^Variable "\$i" got invalid value "ROOT" at "i\.scopes\[0\]"; Value "ROOT" does not exist/,
    },
  },
  {
    name: "first: 101",
    request: (h) => post(h.adminKey, { query: "{ endpoints(first: 101) { totalCount } }" }),
    status: 200,
    error: { message: "first must be between 0 and 100, got 101", code: "BAD_USER_INPUT" },
  },
  {
    name: "last: 101",
    request: (h) => post(h.adminKey, { query: "{ eventTypes(last: 101) { totalCount } }" }),
    status: 200,
    error: { message: "last must be between 0 and 100, got 101", code: "BAD_USER_INPUT" },
  },
  {
    name: "events last: 501 (the logs' own maximum)",
    request: (h) => post(h.adminKey, { query: "{ events(last: 501) { totalCount } }" }),
    status: 200,
    error: { message: "last must be between 0 and 500, got 501", code: "BAD_USER_INPUT" },
  },
  {
    name: "attempts first: 501",
    request: (h) => post(h.adminKey, { query: "{ attempts(first: 501) { totalCount } }" }),
    status: 200,
    error: { message: "first must be between 0 and 500, got 501", code: "BAD_USER_INPUT" },
  },
  {
    name: "offset: -1",
    request: (h) => post(h.adminKey, { query: "{ endpoints(first: 1, offset: -1) { totalCount } }" }),
    status: 200,
    error: {
      message: "offset must be between 0 and 100000, got -1; page further with after (cursors)",
      code: "BAD_USER_INPUT",
    },
  },
  {
    name: "offset: 100001",
    request: (h) => post(h.adminKey, { query: "{ attempts(first: 1, offset: 100001) { totalCount } }" }),
    status: 200,
    error: {
      message: "offset must be between 0 and 100000, got 100001; page further with after (cursors)",
      code: "BAD_USER_INPUT",
    },
  },
  {
    name: "offset with last",
    request: (h) => post(h.adminKey, { query: "{ deliveries(last: 1, offset: 1) { totalCount } }" }),
    status: 200,
    error: {
      message: "offset pages forward: use it with first (and optionally after), not last/before",
      code: "BAD_USER_INPUT",
    },
  },
  {
    name: "first: -1",
    request: (h) => post(h.adminKey, { query: "{ deliveries(first: -1) { totalCount } }" }),
    status: 200,
    error: { message: 'Argument "first" must be a non-negative integer' },
  },
  {
    name: "nested first: 101",
    request: (h) =>
      post(h.adminKey, {
        query: "{ endpoints(first: 1) { edges { node { deliveries(first: 501) { totalCount } } } } }",
      }),
    status: 200,
    error: { message: "first must be between 0 and 500, got 501", code: "BAD_USER_INPUT" },
  },
  {
    name: "nested offset: 100001",
    request: (h) =>
      post(h.adminKey, {
        query:
          "{ deliveries(first: 1) { edges { node { attempts(first: 1, offset: 100001) { totalCount } } } } }",
      }),
    status: 200,
    error: {
      message: "offset must be between 0 and 100000, got 100001; page further with after (cursors)",
      code: "BAD_USER_INPUT",
    },
  },
];

describe("transport and GraphQL rows", () => {
  let h: TestHookgate;

  beforeAll(async () => {
    h = await startTestHookgate();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each(ROWS)("$name → $status", async (row) => {
    const res = await expectNothingWritten(h, () => rawRequest(h, row.request(h)));
    expect(res.status, res.text).toBe(row.status);
    expectRequestId(res);
    if (row.error === null) {
      expect(res.text).toBe("");
    } else {
      expect(res.headers.get("content-type")).toMatch(/^application\/(graphql-response\+)?json/);
      expectOnlyError(res.json, row.error);
      // Nothing internal leaks through a refusal.
      expect(res.text).not.toMatch(/originalError|stack|node_modules/);
    }
  });

  it("runs the same requests when they are well-formed (the rows refuse for the reason they name)", async () => {
    const before = await countRows(h);
    const good = await rawRequest(h, post(h.adminKey, paddedBody(h.config.maxRequestBytes)));
    expect(good.status).toBe(200);
    expect(good.json).toEqual({ data: { createTenant: { __typename: "CreateTenantPayload" } } });
    // GET queries are served with an Authorization header alone (what urql and Apollo send).
    for (const headers of <Record<string, string>[]>[
      { authorization: `Bearer ${h.adminKey}` },
      { authorization: `Bearer ${h.adminKey}`, "x-graphql-yoga-csrf": "1" },
    ]) {
      const get = await rawRequest(h, {
        method: "GET",
        search: `?query=${encodeURIComponent(VIEWER)}`,
        headers,
      });
      expect(get.status).toBe(200);
      expect(get.json.data.viewer.keyId).toMatch(/^key_/);
    }
    const utf8 = await rawRequest(h, {
      headers: jsonHeaders(h.adminKey),
      body: Buffer.from(
        JSON.stringify({
          query:
            "mutation($n: String!) { createTenant(input: { name: $n }) { ... on CreateTenantPayload { tenant { name } } } }",
          variables: { n: "Zürich 東京 🚀" },
        }),
      ),
    });
    expect(utf8.json).toEqual({ data: { createTenant: { tenant: { name: "Zürich 東京 🚀" } } } });
    expect((await countRows(h)).tenants).toBe(before.tenants + 2);
  });

  it("echoes a well-formed x-request-id and replaces a hostile one, on errors too", async () => {
    const echoed = await rawRequest(h, post(h.adminKey, "{", { "x-request-id": "req-123.abc:9" }));
    expect(echoed.status).toBe(400);
    expectRequestId(echoed, "req-123.abc:9");
    for (const bad of ["has space", "a".repeat(129), "semi;colon", "é"]) {
      const res = await rawRequest(h, post(h.adminKey, "{", { "x-request-id": encodeURI(bad) }));
      expectRequestId(res);
    }
    const unknownPath = await fetch(`${h.url}/nope`);
    expect(unknownPath.status).toBe(404);
    expectRequestId(unknownPath);
  });

  describe("operation limits (at the edge passes, one past is refused)", () => {
    /** viewer > tenant > children^(n-3) > id: `n` levels of fields. */
    const deep = (n: number) =>
      `{ viewer { tenant { ${"children { ".repeat(n - 3)}id${" }".repeat(n - 3)} } } }`;
    const aliased = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { keyId }`).join(" ")} }`;
    /** 19 tokens around a list of n - 19 enum values (commas are not tokens). */
    const tokens = (n: number) =>
      `{ deliveries(first: 1, filter: { status: [${"PENDING ".repeat(n - 19)}] }) { totalCount } }`;

    it.each([
      {
        name: "depth",
        at: (h: TestHookgate) => deep(h.config.graphqlMaxDepth),
        past: (h: TestHookgate) => deep(h.config.graphqlMaxDepth + 1),
        kind: "Depth",
        message: (h: TestHookgate) =>
          `Query is too deep: depth ${h.config.graphqlMaxDepth + 1} exceeds the limit of ${h.config.graphqlMaxDepth} (HOOKGATE_GRAPHQL_MAX_DEPTH)`,
      },
      {
        name: "aliases",
        at: (h: TestHookgate) => aliased(h.config.graphqlMaxAliases),
        past: (h: TestHookgate) => aliased(h.config.graphqlMaxAliases + 1),
        kind: "Aliases",
        message: (h: TestHookgate) =>
          `Query has too many aliases: ${h.config.graphqlMaxAliases + 1} exceeds the limit of ${h.config.graphqlMaxAliases} (HOOKGATE_GRAPHQL_MAX_ALIASES)`,
      },
      {
        name: "tokens",
        at: (h: TestHookgate) => tokens(h.config.graphqlMaxTokens),
        past: (h: TestHookgate) => tokens(h.config.graphqlMaxTokens + 1),
        kind: "Tokens",
        message: (h: TestHookgate) =>
          `Query is too long: more than ${h.config.graphqlMaxTokens} tokens (HOOKGATE_GRAPHQL_MAX_TOKENS)`,
      },
    ])("$name", async ({ at, past, message, kind }) => {
      const okRes = await rawRequest(h, post(h.adminKey, { query: at(h) }));
      expect(okRes.status).toBe(200);
      expect(okRes.json.errors, okRes.text).toBeUndefined();
      const refused = await rawRequest(h, post(h.adminKey, { query: past(h) }));
      expect(refused.status).toBe(200);
      expectRequestId(refused);
      expectOnlyError(refused.json, { message: message(h), code: "QUERY_TOO_COMPLEX" });
      expect(refused.json.errors[0].extensions.kind).toBe(kind);
      // A graphql-response+json client gets the refusal as HTTP 400, like the cost limit's.
      const spec = await rawRequest(
        h,
        post(h.adminKey, { query: past(h) }, { accept: "application/graphql-response+json" }),
      );
      expect(spec.status).toBe(400);
      expectOnlyError(spec.json, { message: message(h), code: "QUERY_TOO_COMPLEX" });
    });

    it("refuses a mutation past the depth limit without running it", async () => {
      const n = h.config.graphqlMaxDepth;
      const query = `mutation { createTenant(input: { name: "deep" }) { ... on CreateTenantPayload { tenant { ${"children { ".repeat(n - 2)}id${" }".repeat(n - 2)} } } } }`;
      const res = await expectNothingWritten(h, () => rawRequest(h, post(h.adminKey, { query })));
      expect(res.status).toBe(200);
      expect(res.json.data ?? null).toBeNull();
      expect(res.json.errors[0].message).toMatch(/^Query is too deep: depth \d+ exceeds the limit of \d+/);
    });

    it("refuses a mutation whose selection is too costly without running it", async () => {
      const query = `mutation { createEndpoint(input: { url: "http://127.0.0.1:9/", events: ["*"] }) {
        ... on CreateEndpointPayload { endpoint { deliveries(first: 100) { edges { node { id
          attempts(first: 100) { edges { node { id responseBody } } } } } } } } } }`;
      const res = await expectNothingWritten(h, () => rawRequest(h, post(h.adminKey, { query })));
      expect(res.status).toBe(200);
      expectOnlyError(res.json, {
        message:
          /^Query is too costly: estimated cost \d+ exceeds the limit of 20000 \(HOOKGATE_GRAPHQL_MAX_COST\)$/,
        code: "QUERY_TOO_COMPLEX",
      });
      // graphql-response+json clients get it as HTTP 400, like the depth and alias limits.
      const spec = await expectNothingWritten(h, () =>
        rawRequest(h, post(h.adminKey, { query }, { accept: "application/graphql-response+json" })),
      );
      expect(spec.status).toBe(400);
      expect(spec.json.errors[0].extensions.code).toBe("QUERY_TOO_COMPLEX");
    });

    it("closes a WebSocket whose message is larger than maxRequestBytes (1009), running nothing", async () => {
      const socket = new WebSocket(h.graphqlUrl.replace(/^http/, "ws"), "graphql-transport-ws");
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once("open", () => resolve());
          socket.once("error", reject);
        });
        const closed = new Promise<{ code: number; reason: string }>((resolve) =>
          socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
        );
        const before = await countRows(h);
        socket.send(
          JSON.stringify({
            type: "connection_init",
            payload: { authorization: `Bearer ${h.adminKey}`, pad: "a".repeat(h.config.maxRequestBytes) },
          }),
        );
        const result = await Promise.race([
          closed,
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000).unref()),
        ]);
        expect(result).toEqual({ code: 1009, reason: "" });
        expect(await countRows(h)).toEqual(before);
      } finally {
        socket.terminate();
      }
    });

    it("refuses endpoints(100) > deliveries(100) > attempts(100) as QUERY_TOO_COMPLEX before any resolver runs", async () => {
      const app = h.hookgate.app;
      const root = await app.prisma.tenant.findFirstOrThrow({ where: { parentId: null } });
      const endpoint = await insertEndpoint(app, root.id);
      const event = await insertEvent(app, root.id, "matrix.cost");
      const delivery = await insertDelivery(app, event, endpoint, { status: "FAILED" });
      await insertAttempt(app, delivery, 1, "FAILED");
      const query = `{ endpoints(first: 100) { edges { node { id deliveries(first: 100) { edges { node { id
        attempts(first: 100) { edges { node { id responseBody } } } } } } } } } }`;
      const counter = countPrismaOperations(app);
      try {
        const res = await rawRequest(h, post(h.adminKey, { query }));
        expect(res.status).toBe(200);
        expectOnlyError(res.json, {
          message:
            /^Query is too costly: estimated cost \d+ exceeds the limit of 20000 \(HOOKGATE_GRAPHQL_MAX_COST\)$/,
          code: "QUERY_TOO_COMPLEX",
        });
        expect(res.json.errors[0].extensions.kind).toBe("Complexity");
        // Authentication may touch api_keys; nothing else was read.
        expect(counter.ops.filter((op) => !op.startsWith("ApiKey."))).toEqual([]);
        // The same shape at a page size the limit allows does run and read.
        counter.reset();
        const small = await rawRequest(h, post(h.adminKey, { query: query.replaceAll("100", "5") }));
        expect(small.json.errors, small.text).toBeUndefined();
        expect(small.json.data.endpoints.edges).toHaveLength(1);
        expect(counter.ops.some((op) => op.startsWith("Endpoint."))).toBe(true);
      } finally {
        counter.restore();
      }
    });
  });

  describe("enormous inputs", () => {
    const CREATE_ENDPOINT = `mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) {
      __typename ... on ValidationError { code message fieldErrors { path message } } } }`;
    const CREATE_TENANT = `mutation($i: CreateTenantInput!) { createTenant(input: $i) {
      __typename ... on ValidationError { code message fieldErrors { path message } } } }`;
    const many = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

    it.each([
      {
        name: "10,000 event filters",
        query: CREATE_ENDPOINT,
        input: { url: "https://1.1.1.1/hook", events: many(10_000, () => "*") },
        fieldErrors: [{ path: "input.events", message: "at most 100 event type filters are allowed" }],
      },
      {
        name: "10,000 distinct event filters",
        query: CREATE_ENDPOINT,
        input: { url: "https://1.1.1.1/hook", events: many(10_000, (i) => `t${i}.*`) },
        fieldErrors: [{ path: "input.events", message: "at most 100 event type filters are allowed" }],
      },
      {
        name: "10,000 custom headers",
        query: CREATE_ENDPOINT,
        input: {
          url: "https://1.1.1.1/hook",
          events: ["*"],
          headers: many(10_000, (i) => ({ name: `x-h${i}`, value: "v" })),
        },
        fieldErrors: [{ path: "input.headers", message: "At most 20 custom headers are allowed." }],
      },
      {
        name: "a 900 kB tenant name (inside the request size limit)",
        query: CREATE_TENANT,
        input: { name: "n".repeat(900_000) },
        fieldErrors: [{ path: "input.name", message: /^name must be at most \d+ characters$/ }],
      },
    ])("$name → ValidationError, nothing written", async ({ query, input, fieldErrors }) => {
      const res = await expectNothingWritten(h, () => h.gql(query, { i: input }));
      expect(res.status).toBe(200);
      expect(res.errors).toBeUndefined();
      const result = Object.values(res.data as Record<string, any>)[0];
      expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED" });
      expect(result.fieldErrors).toHaveLength(fieldErrors.length);
      fieldErrors.forEach((fe, i) => {
        expect(result.fieldErrors[i].path).toBe(fe.path);
        if (typeof fe.message === "string") expect(result.fieldErrors[i].message).toBe(fe.message);
        else expect(result.fieldErrors[i].message).toMatch(fe.message);
      });
      // The error does not echo the enormous input back.
      expect(JSON.stringify(res.data).length).toBeLessThan(2_000);
    });
  });
});

describe("introspection and rate limits by configuration", () => {
  it("allows introspection by default", async () => {
    const h = await startTestHookgate();
    try {
      const res = await rawRequest(h, post(h.adminKey, { query: "{ __schema { queryType { name } } }" }));
      expect(res.json).toEqual({ data: { __schema: { queryType: { name: "Query" } } } });
      // Field suggestions are on while the schema is public anyway.
      const typo = await rawRequest(h, post(h.adminKey, { query: "{ viewr { keyId } }" }));
      expect(typo.json.errors[0].message).toBe(
        'Cannot query field "viewr" on type "Query". Did you mean "viewer"?',
      );
    } finally {
      await h.stop();
    }
  });

  it("refuses __schema and __type, and hides field suggestions, when introspection is off", async () => {
    const h = await startTestHookgate({ config: { introspection: false } });
    try {
      for (const [query, field] of [
        ["{ __schema { queryType { name } } }", "__schema"],
        ['{ __type(name: "Endpoint") { fields { name } } }', "__type"],
        ["{ viewer { keyId } x: __schema { types { name } } }", "__schema"],
      ] as const) {
        const res = await rawRequest(h, post(h.adminKey, { query }));
        expect(res.status).toBe(200);
        expectRequestId(res);
        expect(res.json.data ?? null).toBeNull();
        // One error per introspection field selected; the first names the root one.
        expect(res.json.errors[0]).toMatchObject({
          message: `GraphQL introspection has been disabled, but the requested query contained the field "${field}".`,
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
        });
        for (const e of res.json.errors)
          expect(e.message).toMatch(/^GraphQL introspection has been disabled/);
      }
      const typo = await rawRequest(h, post(h.adminKey, { query: "{ viewr { keyId } }" }));
      expect(typo.json.errors[0].message).toBe(
        'Cannot query field "viewr" on type "Query". [Suggestion hidden]',
      );
      // __typename is not introspection and keeps working.
      expect(ok(await h.gql("{ __typename }"))).toEqual({ __typename: "Query" });
    } finally {
      await h.stop();
    }
  });

  it("answers RATE_LIMITED with 429 after apiRateLimitPerSecond requests of one key, and runs nothing", async () => {
    const h = await startTestHookgate({ config: { apiRateLimitPerSecond: 3 } });
    try {
      const before = await countRows(h);
      const results = [];
      // Sequential, well inside one second: the first 3 run, the rest are refused.
      for (let i = 0; i < 5; i++) results.push(await rawRequest(h, post(h.adminKey, { query: MUTATE })));
      const statuses = results.map((r) => r.status);
      const ran = statuses.filter((s) => s === 200).length;
      expect(ran).toBeGreaterThanOrEqual(3);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      const refused = results.filter((r) => r.status === 429);
      expect(refused.length).toBe(5 - ran);
      expect(refused.length).toBeGreaterThan(0);
      for (const res of refused) {
        expectRequestId(res);
        expect(res.headers.get("retry-after")).toBe("1");
        expect(res.json.errors[0].extensions.retryAfterSeconds).toBe(1);
        expectOnlyError(res.json, {
          message: "Rate limit exceeded: at most 3 requests per second per API key (HOOKGATE_API_RATE_LIMIT)",
          code: "RATE_LIMITED",
        });
      }
      expect((await countRows(h)).tenants).toBe(before.tenants + ran);
    } finally {
      await h.stop();
    }
  });
});
