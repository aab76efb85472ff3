import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { GraphQLError } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { isUnavailableError } from "../db/availability.js";
import { type AuthResult, authenticate } from "../domain/api-keys.js";
import type { App } from "../domain/app.js";
import { SharedKeyChecks } from "../domain/key-checks.js";
import { type Authenticator, bearerKey, connectionAuthorization } from "./auth.js";
import { unavailableError } from "./unavailable.js";
import type { HookgateYoga, WsExtra } from "./yoga.js";

/**
 * How often an open WebSocket re-checks its key, whether results flow or not: a revoked or expired key's
 * sockets, idle ones included, are closed within two of these (plus one key read) of the change.
 */
const WS_RECHECK_MS = 2000;
/**
 * Close code for every authentication failure: at connection_init (missing, malformed, unknown,
 * revoked or expired key, throttled address) and later (revoked or expired while open). graphql-ws
 * clients treat 4401 Unauthorized as fatal and do not retry, so a bad key surfaces as an error on
 * the first socket instead of a retry storm; the close reason says what was wrong.
 */
const CLOSE_UNAUTHORIZED = 4401;

/** Why connectionParams carry no usable key, or null when they carry one. */
function connectionKey(params: unknown): { key: string } | { reason: string } {
  const authorization = connectionAuthorization(params);
  if (authorization === undefined || authorization === null || authorization === "") {
    return { reason: "Missing API key: send connectionParams { authorization: 'Bearer <api key>' }" };
  }
  const key = bearerKey(authorization);
  return key ? { key } : { reason: "Malformed authorization: expected 'Bearer <api key>'" };
}
/** "Try Again Later" (RFC 6455): graphql-ws clients reconnect on it (the database is away). */
const CLOSE_TRY_AGAIN_LATER = 1013;

export interface WsEndpoint {
  close(): Promise<void>;
}

/**
 * graphql-ws on the HTTP server's /graphql path: authenticates in connection_init, runs
 * operations through Yoga's envelop (same plugins, limits and context as HTTP), and closes
 * the socket once its key is revoked or expires.
 */
export function attachWebSocket(
  app: App,
  httpServer: Server,
  yoga: HookgateYoga,
  auth: Authenticator,
): WsEndpoint {
  const keyChecks = new SharedKeyChecks(app, WS_RECHECK_MS);
  // Re-checks the key of `socket` if its last check is a window old, and closes the socket once the key is no
  // longer valid. The sockets of one key share the read (see SharedKeyChecks).
  const recheck = async (socket: WsExtra["socket"], keyAuth: NonNullable<WsExtra["auth"]>) => {
    if (!keyChecks.due(keyAuth.checkedAt)) return;
    let check: Awaited<ReturnType<SharedKeyChecks["check"]>>;
    try {
      check = await keyChecks.check(keyAuth.key);
    } catch (err) {
      // While the database is away the last good answer stands (this socket passed its last
      // check, and nobody can revoke a key meanwhile); the next result or sweep tries again.
      if (isUnavailableError(err)) return;
      throw err;
    }
    const { result, startedAt } = check;
    keyAuth.checkedAt = startedAt;
    if (!result.ok) socket.close(CLOSE_UNAUTHORIZED, result.reason);
  };
  // Authenticated sockets. A socket with no traffic is re-checked by this sweep, so an idle subscription of a
  // revoked key does not stay open.
  const open = new Map<WsExtra["socket"], NonNullable<WsExtra["auth"]>>();
  const sweep = setInterval(() => {
    for (const [socket, keyAuth] of open) {
      recheck(socket, keyAuth).catch((err) => app.logger.warn({ err }, "websocket key re-check"));
    }
  }, WS_RECHECK_MS);
  sweep.unref();
  const wss = new WebSocketServer({
    server: httpServer,
    path: "/graphql",
    maxPayload: app.config.maxRequestBytes,
  });
  const wsServer = useServer<Record<string, unknown>, WsExtra>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        const found = connectionKey(ctx.connectionParams);
        let result: Awaited<ReturnType<Authenticator["authenticateFrom"]>>;
        try {
          result =
            "key" in found
              ? await auth.authenticateFrom(ctx.extra.request.socket.remoteAddress ?? "unknown", found.key)
              : { ok: false, reason: found.reason };
        } catch (err) {
          if (!isUnavailableError(err)) throw err;
          ctx.extra.socket.close(CLOSE_TRY_AGAIN_LATER, "Database unavailable: reconnect later");
          return false;
        }
        if (!result.ok) {
          // Closed here with 4401 and the reason; returning false would close it 4403 Forbidden,
          // which graphql-ws clients retry. ws ignores graphql-ws's own close after this one.
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, result.reason);
          return false;
        }
        ctx.extra.auth = { key: (found as { key: string }).key, checkedAt: Date.now() };
        const socket = ctx.extra.socket;
        open.set(socket, ctx.extra.auth);
        socket.once("close", () => open.delete(socket));
        return true;
      },
      onNext: async (ctx) => {
        // While results flow, no result goes out on a key whose last check is older than the window.
        if (ctx.extra.auth) await recheck(ctx.extra.socket, ctx.extra.auth);
      },
      onSubscribe: async (ctx, _id, params) => {
        // Every new operation on a socket re-authenticates: a key revoked since the socket
        // opened gets its next message refused and the socket closed.
        const keyAuth = ctx.extra.auth;
        let check: AuthResult;
        try {
          check = keyAuth ? await authenticate(app, keyAuth.key) : { ok: false, reason: "Not authenticated" };
        } catch (err) {
          // An error payload for this operation (not the driver's message); the socket stays.
          if (isUnavailableError(err)) return [unavailableError(undefined, false)];
          throw err;
        }
        if (!check.ok) {
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, check.reason);
          return [new GraphQLError(check.reason, { extensions: { code: "UNAUTHENTICATED" } })];
        }
        keyAuth!.checkedAt = Date.now();
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

  return {
    async close() {
      clearInterval(sweep);
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
