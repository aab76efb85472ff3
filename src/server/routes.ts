import type { IncomingMessage, ServerResponse } from "node:http";
import type { DatabaseHealth } from "../db/database.js";
import { pendingMigrations } from "../db/migrate.js";
import type { App } from "../domain/app.js";
import { isPortalPath, servePortal } from "./portal.js";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendReady(res: ServerResponse, status: number, text: string, health: DatabaseHealth): true {
  sendJson(res, status, { status: text, database: health });
  return true;
}

const ROUTES = new Set(["/graphql", "/health", "/ready", "/metrics"]);

/** The `route` label of hookgate_http_requests_total: a known route, or "other" (paths are client-chosen). */
export function routeLabel(path: string): string {
  if (isPortalPath(path)) return "/";
  return ROUTES.has(path) ? path : "other";
}

/**
 * The plain HTTP routes beside /graphql: probes, metrics and the portal page (portal.ts). Returns false when the path is
 * not one of them.
 */
export async function handleRoute(
  app: App,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (isPortalPath(path)) {
    servePortal(path, req, res);
    return true;
  }
  if (path === "/health") {
    sendJson(res, 200, { status: "ok" });
    return true;
  }
  if (path === "/ready") {
    // Known outages answer at once, without a query that would wait for a connection.
    const health = app.db.health();
    if (!health.reachable) return sendReady(res, 503, "database unreachable", health);
    if (!health.listening) return sendReady(res, 503, "database listener down", health);
    try {
      const pending = await pendingMigrations(app.db);
      if (pending.length > 0) sendJson(res, 503, { status: "migrations pending", pending });
      else sendReady(res, 200, "ready", health);
    } catch (err) {
      app.logger.warn({ err }, "readiness check failed");
      sendReady(res, 503, "database unreachable", app.db.health());
    }
    return true;
  }
  if (path === "/metrics") {
    res.writeHead(200, { "content-type": app.metrics.registry.contentType });
    res.end(await app.metrics.registry.metrics());
    return true;
  }
  return false;
}
