import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

/**
 * The portal page at / and its two assets, built from src/web/ into assets/portal/ (committed;
 * scripts/build-web.mjs). Read once, on first use, and served from memory. The page needs nothing
 * from elsewhere, and its Content-Security-Policy says so: scripts, styles and connections
 * (graphql-ws on /graphql) only from this origin, no inline script, no eval, no framing.
 */
const DIR = fileURLToPath(new URL("../../assets/portal/", import.meta.url));

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/portal/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/portal/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

let cache: Map<string, Buffer> | undefined;

function load(): Map<string, Buffer> {
  cache ??= new Map(Object.entries(FILES).map(([route, { file }]) => [route, readFileSync(DIR + file)]));
  return cache;
}

export function isPortalPath(path: string): boolean {
  return path in FILES;
}

/** Answers a portal path (see isPortalPath). */
export function servePortal(path: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    res.end("Method not allowed\n");
    return;
  }
  const body = load().get(path)!;
  res.writeHead(200, {
    "content-type": FILES[path]!.type,
    "content-length": body.length,
    // The page is small and changes with each release: revalidate instead of caching stale code.
    "cache-control": "no-cache",
    "content-security-policy": PORTAL_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  res.end(req.method === "HEAD" ? undefined : body);
}
