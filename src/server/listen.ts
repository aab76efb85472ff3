import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sendJson } from "./routes.js";

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
