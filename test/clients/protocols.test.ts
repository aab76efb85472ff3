/**
 * Client protocols against a real server, with what the README section does not show: a bad key
 * over graphql-ws ends in one socket with a fatal 4401 (no retry storm), urql's default really
 * sends GET, Apollo's PersistedQueryLink goes hash-only first and falls back once, the APQ store
 * is bounded at HOOKGATE_PERSISTED_QUERIES, and single connection SSE needs a key to reserve.
 */
import { createHash } from "node:crypto";
import { ApolloClient, gql, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { fetchExchange, Client as UrqlClient, gql as urqlGql } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { ClientError, GraphQLClient } from "graphql-request";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { introspection } from "../../src/client/index.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const STORE = 3;

describe("client protocols", () => {
  let h: TestHookgate;
  beforeAll(async () => {
    h = await startTestHookgate({ config: { persistedQueryCacheSize: STORE } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** fetch that records each request's method and body. */
  function recordingFetch() {
    const calls: { method: string; body: any; url: string }[] = [];
    const f: typeof fetch = async (input, init) => {
      const body = typeof init?.body === "string" ? JSON.parse(init.body) : null;
      calls.push({ method: init?.method ?? "GET", body, url: String(input) });
      return fetch(input, init);
    };
    return { calls, fetch: f };
  }

  it("graphql-ws with a bad key: one socket, the fatal 4401 and its reason reach the app, no retry", async () => {
    let sockets = 0;
    class CountingWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets++;
      }
    }
    // graphql-ws's own defaults (retryAttempts 5, lazy): only the close code decides.
    const client = createWsClient({
      url: h.graphqlUrl.replace(/^http/, "ws"),
      webSocketImpl: CountingWebSocket,
      connectionParams: { authorization: "Bearer hk_not_a_key" },
    });
    const started = Date.now();
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: "subscription { deliveryUpdated { delivery { id } } }" },
        { next: () => {}, error: resolve, complete: () => resolve(null) },
      );
    });
    const elapsed = Date.now() - started;
    await client.dispose();
    expect(error).toMatchObject({ code: 4401, reason: "Invalid API key" });
    expect(sockets).toBe(1);
    // A retried close would first wait graphql-ws's backoff (seconds); a fatal one does not.
    expect(elapsed).toBeLessThan(1_000);
    // Give a retry the time it would take, then check that none came.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sockets).toBe(1);
  });

  it("urql with its defaults sends queries as GET and they are served", async () => {
    const rec = recordingFetch();
    const client = new UrqlClient({
      url: h.graphqlUrl,
      exchanges: [fetchExchange],
      fetch: rec.fetch,
      fetchOptions: { headers: { authorization: `Bearer ${h.adminKey}` } },
    });
    const res = await client.query("{ viewer { id keyId } }", {}).toPromise();
    expect(res.error).toBeUndefined();
    expect(res.data.viewer.id).toBe(res.data.viewer.keyId);
    expect(rec.calls.map((c) => c.method)).toEqual(["GET"]);
  });

  it("Apollo PersistedQueryLink: hash only, PERSISTED_QUERY_NOT_FOUND, one retry with the query, then hash only", async () => {
    const rec = recordingFetch();
    const client = new ApolloClient({
      link: new PersistedQueryLink({ sha256 }).concat(
        new HttpLink({
          uri: h.graphqlUrl,
          headers: { authorization: `Bearer ${h.adminKey}` },
          fetch: rec.fetch,
        }),
      ),
      cache: new InMemoryCache(),
    });
    const QUERY = gql`query Who { viewer { id keyId } }`;
    const first = await client.query<{ viewer: { id: string; keyId: string } }>({
      query: QUERY,
      fetchPolicy: "network-only",
    });
    expect(first.data?.viewer.keyId).toMatch(/^key_/);
    expect(rec.calls.map((c) => Boolean(c.body?.query ?? new URL(c.url).searchParams.get("query")))).toEqual([
      false,
      true,
    ]);
    await client.query({ query: QUERY, fetchPolicy: "network-only" });
    expect(rec.calls).toHaveLength(3);
    expect(rec.calls[2]!.body?.query ?? null).toBeNull();
    client.stop();
  });

  it(`the APQ store keeps ${STORE} queries (least recently used dropped), and checks hashes`, async () => {
    const post = async (body: unknown) => {
      const res = await fetch(h.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${h.adminKey}` },
        body: JSON.stringify(body),
      });
      return (await res.json()) as {
        data?: any;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
    };
    const queries = Array.from({ length: STORE + 1 }, (_, i) => `query Q${i} { viewer { keyId } }`);
    const ext = (q: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(q) } });
    const hashOnly = (q: string) => post({ extensions: ext(q) });

    expect((await hashOnly(queries[0]!)).errors?.[0]).toMatchObject({
      message: "PersistedQueryNotFound",
      extensions: { code: "PERSISTED_QUERY_NOT_FOUND" },
    });
    for (const q of queries.slice(0, STORE))
      expect((await post({ query: q, extensions: ext(q) })).errors).toBeUndefined();
    // At the edge: all STORE queries are known.
    for (const q of queries.slice(0, STORE)) expect((await hashOnly(q)).data?.viewer.keyId).toMatch(/^key_/);
    // One past: registering another drops the least recently used (Q0).
    await post({ query: queries[STORE], extensions: ext(queries[STORE]!) });
    expect((await hashOnly(queries[0]!)).errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    for (const q of queries.slice(1)) expect((await hashOnly(q)).data?.viewer.keyId).toMatch(/^key_/);
    // A query sent with another query's hash is refused, not registered.
    const mismatch = await post({ query: queries[0], extensions: ext(queries[1]!) });
    expect(mismatch.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_MISMATCH");
  });

  it("graphql-sse single connection mode: reserving a stream needs a valid key", async () => {
    for (const authorization of [undefined, "Bearer hk_wrong"]) {
      const res = await fetch(h.graphqlUrl, {
        method: "PUT",
        headers: authorization ? { authorization } : {},
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
    }
    const ok = await fetch(h.graphqlUrl, {
      method: "PUT",
      headers: { authorization: `Bearer ${h.adminKey}` },
    });
    expect(ok.status).toBe(201);
    expect(await ok.text()).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("urql graphcache with the exported introspection: union errors keep their fields, no heuristic matching", async () => {
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      const client = new UrqlClient({
        url: h.graphqlUrl,
        exchanges: [cacheExchange({ schema: introspection }), fetchExchange],
        fetchOptions: { headers: { authorization: `Bearer ${h.adminKey}` } },
      });
      const res = await client
        .mutation(
          urqlGql`mutation { deleteEndpoint(id: "ep_missing") {
            __typename ... on Error { code message } ... on NotFoundError { resourceId } } }`,
          {},
        )
        .toPromise();
      expect(res.error).toBeUndefined();
      expect(res.data.deleteEndpoint).toEqual({
        __typename: "NotFoundError",
        code: "NOT_FOUND",
        message: expect.any(String),
        resourceId: "ep_missing",
      });
      const viewer = await client.query(urqlGql`{ viewer { id keyId } }`, {}).toPromise();
      expect(viewer.data.viewer.id).toBe(viewer.data.viewer.keyId);
    } finally {
      console.warn = warn;
    }
    expect(warnings).toEqual([]);
  });

  it("graphql-request: a depth-limit refusal is HTTP 400 with QUERY_TOO_COMPLEX (it asks for graphql-response+json)", async () => {
    const client = new GraphQLClient(h.graphqlUrl, { headers: { authorization: `Bearer ${h.adminKey}` } });
    const n = h.config.graphqlMaxDepth + 1;
    const deep = `{ viewer { tenant { ${"children { ".repeat(n - 3)}id${" }".repeat(n - 3)} } } }`;
    const err = await client.request(deep).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    const { response } = err as ClientError;
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", kind: "Depth" });
  });

  it("graphql-sse (both modes) with a wrong key: the client gets UNAUTHENTICATED, not a hang", async () => {
    const attempt = async (singleConnection: boolean) => {
      const client = createSseClient({
        url: h.graphqlUrl,
        headers: { authorization: "Bearer hk_wrong" },
        singleConnection,
        retryAttempts: 0,
      });
      const seen: unknown[] = [];
      try {
        for await (const result of client.iterate({ query: "{ viewer { keyId } }" })) seen.push(result);
      } catch (err) {
        seen.push(err);
      } finally {
        client.dispose();
      }
      return seen;
    };
    // Distinct connections: the stream carries the error result.
    expect(JSON.stringify(await attempt(false))).toContain('"code":"UNAUTHENTICATED"');
    // Single connection: the reservation is refused (its body's code: see the PUT test above);
    // the client throws with the 401 response.
    const [err] = (await attempt(true)) as { message: string; response: Response }[];
    expect(err!.message).toBe("Server responded with 401: Unauthorized");
    expect(err!.response.status).toBe(401);
  });
});
