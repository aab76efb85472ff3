import http from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebhook } from "../../src/dispatcher/http.js";

// One receiver whose path says how to answer; every request it saw is counted per path.
let server: http.Server;
let origin: string;
const seen = new Map<string, number>();
const agent = new Agent({ connections: 8 });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.set(url.pathname, (seen.get(url.pathname) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      switch (url.pathname) {
        case "/echo":
          res.writeHead(200, { "content-type": "text/plain" });
          res.end(`${req.headers["x-test"]}|${req.headers["content-length"]}|${body}`);
          return;
        case "/bytes": {
          const n = Number(url.searchParams.get("n"));
          const chunked = url.searchParams.has("chunked");
          res.writeHead(200, chunked ? {} : { "content-length": String(n) });
          // In pieces, so the cap is hit mid-stream.
          for (let i = 0; i < n; i += 1000) res.write("a".repeat(Math.min(1000, n - i)));
          res.end();
          return;
        }
        case "/slow-headers":
          setTimeout(() => res.end("late"), 2000);
          return;
        case "/slow-body":
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("partial");
          setTimeout(() => res.end("rest"), 2000);
          return;
        case "/redirect":
          res.writeHead(302, { location: "/echo" });
          res.end("moved");
          return;
        case "/busy":
          res.writeHead(429, { "retry-after": "7" });
          res.end();
          return;
        case "/nul":
          // NUL, a stray byte, and a UTF-8-encoded lone surrogate (which PostgreSQL's text would refuse).
          res.end(Buffer.from([0x61, 0x00, 0x62, 0xff, 0xed, 0xa0, 0x80]));
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const send = (path: string, o: { timeoutMs?: number; maxResponseBytes?: number; body?: string } = {}) =>
  sendWebhook({
    url: `${origin}${path}`,
    headers: { "x-test": "yes", "content-type": "application/json" },
    body: Buffer.from(o.body ?? '{"ü":1}'),
    timeoutMs: o.timeoutMs ?? 5000,
    maxResponseBytes: o.maxResponseBytes ?? 20_000,
    dispatcher: agent,
  });

describe("sendWebhook", () => {
  it("POSTs the headers and exact body bytes and returns status and body", async () => {
    const r = await send("/echo?q=1").result;
    expect(r).toMatchObject({ status: 200, error: null, aborted: false, retryAfter: null });
    expect(r.body).toBe(`yes|${Buffer.byteLength('{"ü":1}')}|{"ü":1}`);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("keeps a body of exactly the cap whole, and cuts a longer one at the cap", async () => {
    for (const chunked of [false, true]) {
      const q = chunked ? "&chunked" : "";
      expect((await send(`/bytes?n=5000${q}`, { maxResponseBytes: 5000 }).result).body).toBe(
        "a".repeat(5000),
      );
      const cut = await send(`/bytes?n=50000${q}`, { maxResponseBytes: 4500 }).result;
      expect(cut).toMatchObject({ status: 200, error: null, aborted: false });
      expect(cut.body).toBe("a".repeat(4500));
    }
    expect((await send("/bytes?n=10", { maxResponseBytes: 0 }).result).body).toBe("");
    // The connection dropped by a cut does not break the next request.
    expect((await send("/echo").result).status).toBe(200);
  });

  it("never follows a redirect", async () => {
    const before = seen.get("/echo") ?? 0;
    const r = await send("/redirect").result;
    expect(r.status).toBe(302);
    expect(r.error).toBe("Redirect (302) not followed (location: /echo)");
    expect(seen.get("/echo") ?? 0).toBe(before);
  });

  it("reports Retry-After and replaces what text cannot hold", async () => {
    expect(await send("/busy").result).toMatchObject({ status: 429, retryAfter: "7" });
    expect((await send("/nul").result).body).toBe("a\uFFFDb\uFFFD\uFFFD\uFFFD\uFFFD");
  });

  it("times out waiting for headers, and while reading the body (keeping the status)", async () => {
    const h = await send("/slow-headers", { timeoutMs: 200 }).result;
    expect(h).toMatchObject({ status: null, error: "Timed out after 200 ms", aborted: false });
    expect(h.durationMs).toBeLessThan(1500);
    const b = await send("/slow-body", { timeoutMs: 200 }).result;
    expect(b).toMatchObject({
      status: 200,
      body: null,
      error: "Reading the response body failed: Timed out after 200 ms",
      aborted: false,
    });
  });

  it("fails cleanly when nothing listens", async () => {
    const free = http.createServer();
    await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    const r = await sendWebhook({
      url: `http://127.0.0.1:${port}/x`,
      headers: {},
      body: Buffer.from("{}"),
      timeoutMs: 2000,
      maxResponseBytes: 100,
      dispatcher: agent,
    }).result;
    expect(r.status).toBeNull();
    expect(r.error).toMatch(/ECONNREFUSED/);
    expect(r.aborted).toBe(false);
  });

  it("abort() settles at once as not-an-attempt, whether the request started or not", async () => {
    const started = send("/slow-headers");
    await new Promise((r) => setTimeout(r, 100));
    started.abort(new Error("stopping"));
    expect(await started.result).toMatchObject({ status: null, aborted: true });

    const midBody = send("/slow-body");
    await new Promise((r) => setTimeout(r, 200));
    midBody.abort();
    expect(await midBody.result).toMatchObject({ aborted: true });

    // Aborted while queued behind another request (one connection): never written at all, even once
    // the connection frees up.
    const one = new Agent({ connections: 1 });
    const opts = (path: string) => ({
      url: `${origin}${path}`,
      headers: {},
      body: Buffer.from("{}"),
      timeoutMs: 5000,
      maxResponseBytes: 100,
      dispatcher: one,
    });
    const before = seen.get("/echo") ?? 0;
    const busy = sendWebhook(opts("/slow-headers"));
    const queued = sendWebhook(opts("/echo"));
    queued.abort();
    expect(await queued.result).toMatchObject({ status: null, aborted: true });
    busy.abort();
    await busy.result;
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.get("/echo") ?? 0).toBe(before);
    // The agent still works afterwards.
    expect((await sendWebhook(opts("/echo")).result).status).toBe(200);
    expect(seen.get("/echo") ?? 0).toBe(before + 1);
    await one.destroy();
  });
});
