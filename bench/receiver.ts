/**
 * Loopback webhook receivers, in their own process (started by bench/run.ts over IPC).
 *
 * One node:http server on 127.0.0.1; every path is a different "endpoint" (/tp/3, /fan/517 ...). Each
 * request is read to the end and answered 200 with an empty body. A delivery is identified by its
 * `webhook-id` header (the event id) plus its path, so redelivered duplicates are counted apart. The
 * receiver does the same work for the ceiling client and for Hookgate, so the two are comparable.
 */
import http from "node:http";
import { nowMs, serveRpc } from "./lib/rpc.js";

interface State {
  unique: number;
  duplicates: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
  seen: Set<string>;
  /** Receipt time per delivery key, only while recording (latency phases). */
  record: boolean;
  times: Map<string, number>;
  /** Unique receipts per wall-clock second (for the steady-state rate). */
  perSecond: Map<number, number>;
}

function fresh(record = false): State {
  return {
    unique: 0,
    duplicates: 0,
    bytes: 0,
    firstAt: 0,
    lastAt: 0,
    seen: new Set(),
    record,
    times: new Map(),
    perSecond: new Map(),
  };
}

let state = fresh();

const server = http.createServer((req, res) => {
  let bytes = 0;
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on("end", () => {
    const t = nowMs();
    const s = state;
    const key = `${req.headers["webhook-id"] ?? ""} ${req.url ?? ""}`;
    s.bytes += bytes;
    if (s.seen.has(key)) {
      s.duplicates++;
    } else {
      s.seen.add(key);
      s.unique++;
      if (s.firstAt === 0) s.firstAt = t;
      s.lastAt = t;
      const sec = Math.floor(t / 1000);
      s.perSecond.set(sec, (s.perSecond.get(sec) ?? 0) + 1);
      if (s.record) s.times.set(key, t);
    }
    res.writeHead(200, { "content-length": "0" });
    res.end();
  });
});
// Keep idle keep-alive connections longer than any sender's pool does.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.requestTimeout = 0;

function stats() {
  const s = state;
  return {
    unique: s.unique,
    duplicates: s.duplicates,
    bytes: s.bytes,
    firstAt: s.firstAt,
    lastAt: s.lastAt,
    perSecond: [...s.perSecond.entries()].sort((a, b) => a[0] - b[0]),
  };
}

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  serveRpc(
    {
      reset: (p: { record?: boolean }) => {
        state = fresh(Boolean(p?.record));
        return true;
      },
      stats,
      /** Receipt times as [key, ms] pairs; key = "<webhook-id> <path>". */
      times: () => [...state.times.entries()],
    },
    { port },
  );
});
