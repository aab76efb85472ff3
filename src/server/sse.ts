import { randomUUID } from "node:crypto";
import { useGraphQLSSE } from "@graphql-yoga/plugin-graphql-sse";
import type { Plugin } from "graphql-yoga";
import type { Authenticator } from "./auth.js";
import { bearerKey } from "./auth.js";

const TOKEN_HEADER = "x-graphql-event-stream-token";

/**
 * graphql-sse's "single connection mode" on /graphql, beside Yoga's own SSE (which is the
 * protocol's "distinct connections mode": a POST with `accept: text/event-stream`). Only the
 * requests of single connection mode are handed to graphql-sse's handler: the PUT that reserves
 * a stream, and requests that carry a stream token (the GET event stream, operation POSTs,
 * DELETEs that stop an operation). Everything else stays with Yoga.
 *
 * Reserving a stream takes a valid API key (the PUT's `Authorization: Bearer`); its token is a
 * random UUID. Operations sent on the stream authenticate like any request, from their own
 * Authorization header (graphql-sse clients send their `headers` with every request).
 */
export function singleConnectionSse(auth: Authenticator): Plugin {
  const clientIps = new WeakMap<Request, string>();
  const inner = useGraphQLSSE({
    endpoint: "/graphql",
    authenticate: async (req) => {
      const token =
        req.headers.get(TOKEN_HEADER) ?? new URL(req.url, "http://localhost/").searchParams.get("token");
      if (req.method !== "PUT") return token ?? undefined;
      const key = bearerKey(req.headers.get("authorization"));
      const result = key
        ? await auth.authenticateFrom(clientIps.get(req.raw as Request) ?? "unknown", key)
        : { ok: false as const, reason: "Authentication required: send Authorization: Bearer <api key>" };
      if (result.ok) return randomUUID();
      const body = { errors: [{ message: result.reason, extensions: { code: "UNAUTHENTICATED" } }] };
      return [
        JSON.stringify(body),
        {
          status: 401,
          statusText: "Unauthorized",
          headers: { "content-type": "application/json", "www-authenticate": 'Bearer realm="hookgate"' },
        },
      ];
    },
  });
  return {
    onYogaInit: inner.onYogaInit,
    onRequest(payload) {
      const { request } = payload;
      const url = new URL(request.url);
      const singleConnection =
        request.method === "PUT" || request.headers.has(TOKEN_HEADER) || url.searchParams.has("token");
      if (!singleConnection) return;
      clientIps.set(request, (payload.serverContext as { clientIp?: string }).clientIp ?? "unknown");
      return inner.onRequest?.(payload);
    },
  };
}
