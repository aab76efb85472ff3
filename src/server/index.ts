import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import type { App } from "../domain/app.js";
import { createAuthenticator } from "./auth.js";
import { GRAPHIQL_OFF, isGraphiQLVisit } from "./graphiql.js";
import { bindHttpServer, boundPort } from "./listen.js";
import { handleRoute, routeLabel, sendJson } from "./routes.js";
import { attachWebSocket } from "./ws.js";
import { createHookgateYoga } from "./yoga.js";

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

export interface StartServerOptions {
  port?: number;
  host?: string;
  /** A server already bound by bindHttpServer (serve binds before it opens the database). */
  httpServer?: Server;
}

/**
 * node:http + graphql-yoga (HTTP and SSE) + graphql-ws (WebSocket), all on one port and the
 * one path /graphql, plus the plain routes of routes.ts (/health, /ready, /metrics). A process
 * without the API serves the routes alone (serveProbes in listen.ts).
 */
export async function startServer(app: App, opts: StartServerOptions = {}): Promise<RunningServer> {
  const { config, logger } = app;
  const auth = createAuthenticator(app);
  const yoga = createHookgateYoga(app, auth);

  const onRequest: RequestListener = (req, res) => {
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    res.setHeader("x-request-id", requestId);
    res.once("finish", () => {
      const route = routeLabel((req.url ?? "/").split("?")[0]!);
      app.metrics.httpRequests.inc({ route, status: `${Math.floor(res.statusCode / 100)}xx` });
    });
    handle(req, res, requestId).catch((err: unknown) => {
      logger.error({ err, requestId }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error", requestId });
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/graphql") {
      if (!config.graphiql && isGraphiQLVisit(req)) {
        return sendJson(res, 404, { error: GRAPHIQL_OFF });
      }
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
    if (await handleRoute(app, path, req, res)) return;
    sendJson(res, 404, { error: "not found" });
  }

  const httpServer =
    opts.httpServer ?? (await bindHttpServer(opts.port ?? config.port, opts.host ?? config.host));
  httpServer.removeAllListeners("request");
  httpServer.on("request", onRequest);
  const ws = attachWebSocket(app, httpServer, yoga, auth);
  const { port, url } = boundPort(httpServer);

  return {
    port,
    url,
    async close() {
      await ws.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
