import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { GraphQLError } from "graphql";
import type { Context as WsContext } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { createYoga, type GraphQLParams, type Plugin, type YogaInitialContext } from "graphql-yoga";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { WebSocketServer } from "ws";
import { pendingMigrations } from "./db/migrate.js";
import { type AuthResult, authenticate } from "./domain/api-keys.js";
import type { App } from "./domain/app.js";
import { SharedKeyChecks } from "./domain/key-checks.js";
import type { GraphQLContext } from "./graphql/builder.js";
import { schema } from "./graphql/index.js";
import { useSharedSubscriptionExecution } from "./graphql/live-execution.js";

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

interface ServerContext {
  requestId: string;
  /** Remote address of the HTTP connection (failed-authentication throttling). */
  clientIp?: string;
}

type WsExtra = {
  request: IncomingMessage;
  socket: import("ws").WebSocket;
  /** The connection's API key, kept to re-check revocation and expiry while it is open. */
  auth?: { key: string; checkedAt: number };
};

/** How often an open WebSocket re-checks its key while results flow. */
const WS_RECHECK_MS = 2000;
/** graphql-ws close code used when the connection's key stops being valid. */
const CLOSE_KEY_INVALID = 4403;

function bearerKey(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * node:http + graphql-yoga (HTTP and SSE) + graphql-ws (WebSocket), all on one port and the
 * one path /graphql, plus /health, /ready and /metrics.
 */
export async function startServer(
  app: App,
  opts: { port?: number; host?: string } = {},
): Promise<RunningServer> {
  const { config, logger } = app;
  const limiter =
    config.apiRateLimitPerSecond > 0
      ? new RateLimiterMemory({ points: config.apiRateLimitPerSecond, duration: 1 })
      : null;

  // Guessing keys costs the guesser: failed authentications are counted per client address, and
  // an address past the limit is refused before any lookup for the rest of the window.
  const authFailures =
    config.authFailureLimitPerMinute > 0
      ? new RateLimiterMemory({ points: config.authFailureLimitPerMinute, duration: 60 })
      : null;

  async function authenticateFrom(
    clientIp: string,
    key: string,
  ): Promise<AuthResult & { throttled?: boolean }> {
    if (authFailures) {
      const seen = await authFailures.get(clientIp);
      if (seen && seen.consumedPoints >= config.authFailureLimitPerMinute) {
        const seconds = Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
        return {
          ok: false,
          throttled: true,
          reason: `Too many failed authentications from this address: try again in ${seconds} s`,
        };
      }
    }
    const result = await authenticate(app, key);
    if (!result.ok && authFailures) await authFailures.penalty(clientIp, 1);
    return result;
  }

  async function buildContext(
    authorization: string | null | undefined,
    requestId: string,
    clientIp: string,
  ): Promise<GraphQLContext> {
    const ctx: GraphQLContext = { app, actor: null, authError: null, requestId };
    if (!authorization) return ctx;
    const key = bearerKey(authorization);
    if (!key) {
      ctx.authError = "Malformed Authorization header: expected 'Bearer <api key>'";
      return ctx;
    }
    const result = await authenticateFrom(clientIp, key);
    if (!result.ok) {
      if (result.throttled) {
        throw new GraphQLError(result.reason, {
          extensions: { code: "RATE_LIMITED", http: { status: 429, headers: { "retry-after": "60" } } },
        });
      }
      ctx.authError = result.reason;
      return ctx;
    }
    if (limiter) {
      try {
        await limiter.consume(result.actor.keyId);
      } catch {
        throw new GraphQLError(
          `Rate limit exceeded: at most ${config.apiRateLimitPerSecond} requests per second per API key`,
          {
            extensions: { code: "RATE_LIMITED", http: { status: 429, headers: { "retry-after": "1" } } },
          },
        );
      }
    }
    ctx.actor = result.actor;
    return ctx;
  }

  const yoga = createYoga<
    ServerContext & Partial<WsContext<Record<string, unknown>, WsExtra>>,
    GraphQLContext
  >({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: config.graphiql ? { title: "Hookgate" } : false,
    landingPage: false,
    // No file uploads: multipart/form-data bodies are refused (415), not parsed.
    multipart: false,
    maskedErrors: true,
    logging: {
      debug: (...a) => logger.debug(a.map(String).join(" ")),
      info: (...a) => logger.info(a.map(String).join(" ")),
      warn: (...a) => logger.warn(a.map(String).join(" ")),
      error: (...a) => logger.error({ err: a[0] }, "graphql error"),
    },
    context: async (
      initial: YogaInitialContext & ServerContext & Partial<WsContext<Record<string, unknown>, WsExtra>>,
    ) => {
      if (initial.connectionParams !== undefined || initial.extra) {
        const auth = initial.connectionParams?.authorization;
        return buildContext(
          typeof auth === "string" ? auth : null,
          initial.requestId ?? randomUUID(),
          initial.extra?.request.socket.remoteAddress ?? "unknown",
        );
      }
      return buildContext(
        initial.request.headers.get("authorization"),
        initial.requestId,
        initial.clientIp ?? "unknown",
      );
    },
    plugins: [
      // Requests a browser sends cross-site without a preflight (GET, or POST as text/plain,
      // form-urlencoded or multipart) must carry this header. Content-Type must NOT count as a
      // preflight header: every such POST has one.
      useCSRFPrevention({ requestHeaders: ["x-graphql-yoga-csrf"] }),
      strictJsonBody,
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      EnvelopArmorPlugin({
        maxDepth: { enabled: true, n: config.graphqlMaxDepth, ignoreIntrospection: true },
        maxAliases: { enabled: true, n: config.graphqlMaxAliases },
        maxTokens: { enabled: true, n: config.graphqlMaxTokens },
        maxDirectives: { enabled: true, n: 50 },
        // Cost is priced by the Pothos complexity plugin, which knows page sizes.
        costLimit: { enabled: false },
        blockFieldSuggestion: { enabled: !config.introspection },
      }),
      // Subscribers whose results cannot differ share one execution per event.
      useSharedSubscriptionExecution({
        observer: {
          executed: () => app.metrics.subscriptionExecutions.inc(),
          shared: () => app.metrics.subscriptionResultsShared.inc(),
        },
      }),
    ],
  });

  const httpServer: Server = createServer((req, res) => {
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    res.setHeader("x-request-id", requestId);
    handle(req, res, requestId).catch((err: unknown) => {
      logger.error({ err, requestId }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error", requestId });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/health") return sendJson(res, 200, { status: "ok" });
    if (path === "/ready") {
      try {
        const pending = await pendingMigrations(app.db);
        if (pending.length > 0) return sendJson(res, 503, { status: "migrations pending", pending });
        return sendJson(res, 200, { status: "ready" });
      } catch (err) {
        logger.warn({ err }, "readiness check failed");
        return sendJson(res, 503, { status: "database unreachable" });
      }
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": app.metrics.registry.contentType });
      res.end(await app.metrics.registry.metrics());
      return;
    }
    if (path === "/graphql") {
      const length = Number(req.headers["content-length"] ?? 0);
      if (length > config.maxRequestBytes) {
        req.resume();
        return sendJson(res, 413, {
          errors: [
            {
              message: `Request body too large: ${length} bytes exceeds the limit of ${config.maxRequestBytes}`,
              extensions: { code: "PAYLOAD_TOO_LARGE" },
            },
          ],
        });
      }
      if (req.method === "POST" && req.headers["content-length"] === undefined) {
        req.resume();
        return sendJson(res, 411, {
          errors: [{ message: "Content-Length is required", extensions: { code: "LENGTH_REQUIRED" } }],
        });
      }
      await yoga(req, res, { requestId, clientIp: req.socket.remoteAddress ?? "unknown" });
      return;
    }
    sendJson(res, 404, { error: "not found" });
  }

  const keyChecks = new SharedKeyChecks(app, WS_RECHECK_MS);
  const wss = new WebSocketServer({
    server: httpServer,
    path: "/graphql",
    maxPayload: config.maxRequestBytes,
  });
  const wsServer = useServer<Record<string, unknown>, WsExtra>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const key = bearerKey(ctx.connectionParams?.authorization);
        if (!key) return false;
        const result = await authenticateFrom(ctx.extra.request.socket.remoteAddress ?? "unknown", key);
        if (!result.ok) return false;
        ctx.extra.auth = { key, checkedAt: Date.now() };
        return true;
      },
      onNext: async (ctx) => {
        // Revocation reaches open sockets too: re-check the key at most every few seconds
        // while results flow, and close the socket once it is no longer valid.
        // The sockets of one key share the read (see SharedKeyChecks).
        const auth = ctx.extra.auth;
        if (!auth || !keyChecks.due(auth.checkedAt)) return;
        const { result, startedAt } = await keyChecks.check(auth.key);
        auth.checkedAt = startedAt;
        if (!result.ok) ctx.extra.socket.close(CLOSE_KEY_INVALID, result.reason);
      },
      onSubscribe: async (ctx, _id, params) => {
        // Every new operation on a socket re-authenticates: a key revoked since the socket
        // opened gets its next message refused and the socket closed.
        const auth = ctx.extra.auth;
        const check = auth
          ? await authenticate(app, auth.key)
          : ({ ok: false, reason: "Not authenticated" } as const);
        if (!check.ok) {
          ctx.extra.socket.close(CLOSE_KEY_INVALID, check.reason);
          return [new GraphQLError(check.reason, { extensions: { code: "UNAUTHENTICATED" } })];
        }
        auth!.checkedAt = Date.now();
        const {
          schema: s,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          requestId: randomUUID(),
        });
        const args = {
          schema: s,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  wss.on("connection", () => app.metrics.wsConnections.inc());
  wss.on("connection", (socket) => socket.on("close", () => app.metrics.wsConnections.dec()));

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(opts.port ?? config.port, opts.host ?? config.host, () => {
      httpServer.off("error", reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    port: address.port,
    url: `http://${host}:${address.port}`,
    async close() {
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_REQUEST", http: { status: 400 } } });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses JSON POST bodies like Yoga does, except that bytes which are not UTF-8 are refused
 * (400) instead of being silently replaced by U+FFFD and stored, and the parser's message
 * (which quotes the body) is not echoed back.
 */
const strictJsonBody: Plugin = {
  onRequestParse({ request, setRequestParser }) {
    if (request.method !== "POST") return;
    const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json" && type !== "application/graphql+json") return;
    setRequestParser(async (req) => {
      let text: string;
      try {
        text = strictUtf8.decode(await req.arrayBuffer());
      } catch {
        throw badRequest("POST body is not valid UTF-8.");
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest("POST body sent invalid JSON.");
      }
      if (body === null || typeof body !== "object") {
        throw badRequest(
          `POST body is expected to be object but received ${body === null ? "null" : typeof body}`,
        );
      }
      return body as GraphQLParams;
    });
  },
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
