import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { App } from "../domain/app.js";
import type { RunningServer } from "./index.js";
import { handleRoute, routeLabel, sendJson } from "./routes.js";

/** The HTTP port is taken by another process: said in one line, before anything else was opened. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(
      `port ${port} on ${host} is already in use: stop the process that holds it, or set HOOKGATE_PORT to another port`,
    );
    this.name = "PortInUseError";
  }
}

/**
 * Binds the HTTP port first, before the database is opened, so that a port in use is refused with
 * nothing opened or written. Until startServer() attaches the real handler the process answers
 * /health (it is up) and 503 "starting" elsewhere, so orchestrators can watch a slow start.
 */
export async function bindHttpServer(port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/health") sendJson(res, 200, { status: "ok" });
    else sendJson(res, 503, { status: "starting" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(err.code === "EADDRINUSE" ? new PortInUseError(port, host) : err);
    });
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  return server;
}

export function boundPort(server: Server): { port: number; url: string } {
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { port: address.port, url: `http://${host}:${address.port}` };
}

/**
 * The server of a process without the API (the dispatcher role): /health, /ready and /metrics on the
 * bound port, and no GraphQL, which is never loaded in such a process.
 */
export function serveProbes(app: App, httpServer: Server): RunningServer {
  httpServer.removeAllListeners("request");
  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    res.once("finish", () => {
      app.metrics.httpRequests.inc({
        route: routeLabel(path),
        status: `${Math.floor(res.statusCode / 100)}xx`,
      });
    });
    handleRoute(app, path, req, res).then(
      (handled) => {
        if (handled) return;
        if (path === "/graphql") {
          sendJson(res, 404, {
            error:
              "this process runs the dispatcher role: GraphQL is served by processes with --role api or all",
          });
        } else sendJson(res, 404, { error: "not found" });
      },
      (err: unknown) => {
        app.logger.error({ err }, "request failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        else res.destroy();
      },
    );
  });
  const { port, url } = boundPort(httpServer);
  return {
    port,
    url,
    async close() {
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
