/**
 * Misbehaving receivers (real servers on 127.0.0.1 port 0) cannot starve the others: an endpoint that
 * hangs holds at most endpointConcurrency slots while healthy endpoints' deliveries all complete, and
 * every kind of bad exchange (accept and never answer, trickle, reset mid-response, huge body) is cut
 * off by the attempt timeout, which covers the whole exchange, or by the response size cap.
 */
import { createServer as createHttpServer, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
} from "./delivery-fixtures.js";

/** A raw TCP or HTTP server whose connections are all cut on close(). */
async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts connections, reads everything, never writes a byte. */
const silent = () => listen(createTcpServer((s) => s.resume()));

/** Answers 200 and then one byte of body every 100 ms, forever. */
const trickle = () => {
  const timers = new Set<NodeJS.Timeout>();
  return listen(
    createHttpServer((req, res: ServerResponse) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      const t = setInterval(() => res.write("."), 100);
      timers.add(t);
      res.on("close", () => {
        clearInterval(t);
        timers.delete(t);
      });
    }) as unknown as Server,
  );
};

/** Answers 200 with part of a body, then resets the connection. */
const resets = () =>
  listen(
    createHttpServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial");
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
    }) as unknown as Server,
  );

/** Answers 200 with 64 MB of body (streamed as fast as it is read). */
const huge = () =>
  listen(
    createHttpServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-length": String(64 * 1024 * 1024) });
      const chunk = Buffer.alloc(64 * 1024, "x");
      let sent = 0;
      const pump = () => {
        while (sent < 1024) {
          sent++;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    }) as unknown as Server,
  );

async function statusCounts(h: TestHookgate, endpointId: string): Promise<Record<string, number>> {
  const rows = await h.hookgate.app.db.query<{ status: string; n: number }>(
    "SELECT status::text AS status, count(*)::int AS n FROM deliveries WHERE endpoint_id = $1 GROUP BY status",
    [endpointId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

describe("receiver faults cannot starve other endpoints", () => {
  let h: TestHookgate | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    for (const close of closers.splice(0)) await close();
  });

  it("a hanging endpoint holds at most endpointConcurrency slots; every healthy delivery completes meanwhile", async () => {
    const EVENTS = 30;
    h = await startTestHookgate({
      role: "all",
      // The hung attempts outlast the test: whatever completes, completes beside them.
      config: {
        ...FAST,
        attemptTimeoutMs: 120_000,
        leaseMs: 180_000,
        dispatchConcurrency: 8,
        endpointConcurrency: 2,
        shutdownGraceMs: 0,
      },
    });
    const hung = await silent();
    closers.push(hung.close);
    const healthy: Receiver[] = [];
    for (let i = 0; i < 3; i++) healthy.push(await startReceiver());
    for (const r of healthy) closers.push(r.close);
    await createEventType(h, "a.b");
    const bad = await createEndpoint(h, hung.url, { events: ["a.b"] });
    const good = [];
    for (const r of healthy) good.push(await createEndpoint(h, r.url, { events: ["a.b"] }));
    for (let i = 0; i < EVENTS; i++) await publish(h, "a.b", { i });

    for (const r of healthy) await r.waitFor(EVENTS, 30_000);
    for (const ep of good) {
      await until(
        async () => (await statusCounts(h!, ep.id)).SUCCEEDED === EVENTS,
        15_000,
        () => "healthy deliveries SUCCEEDED",
      );
    }
    // The hung endpoint holds its slots and no more: nothing of it finished, the rest waits its turn.
    const stats = h.hookgate.dispatcher!.stats();
    expect(stats.inFlight).toBe(2);
    const hungCounts = await statusCounts(h, bad.id);
    expect(hungCounts.SUCCEEDED ?? 0).toBe(0);
    expect((hungCounts.SENDING ?? 0) + (hungCounts.PENDING ?? 0)).toBe(EVENTS);
    for (const r of healthy) expect(r.requests).toHaveLength(EVENTS);
  }, 90_000);

  it("silence, trickled bytes, a reset mid-response and a huge body are each cut off, and recorded", async () => {
    h = await startTestHookgate({
      role: "all",
      config: {
        ...FAST,
        attemptTimeoutMs: 1500,
        leaseMs: 10_000,
        retryScheduleMs: [600_000],
        maxResponseBytes: 1024,
      },
    });
    const servers = {
      silent: await silent(),
      trickle: await trickle(),
      resets: await resets(),
      huge: await huge(),
    };
    for (const s of Object.values(servers)) closers.push(s.close);
    const healthy = await startReceiver();
    closers.push(healthy.close);
    await createEventType(h, "a.b");
    const ids: Record<string, string> = {};
    for (const [name, s] of Object.entries(servers))
      ids[name] = (await createEndpoint(h, s.url, { events: ["a.b"] })).id;
    const healthyEp = await createEndpoint(h, healthy.url, { events: ["a.b"] });
    await publish(h, "a.b", { hello: "world" });

    const attempt = async (endpointId: string) =>
      until(
        async () =>
          (
            await h!.hookgate.app.db.query<Record<string, any>>(
              "SELECT status::text AS status, response_code, response_body, error_message FROM attempts WHERE endpoint_id = $1",
              [endpointId],
            )
          )[0],
        20_000,
        () => `an attempt to ${endpointId}`,
      );
    expect((await attempt(healthyEp.id)).status).toBe("SUCCEEDED");
    const silence = await attempt(ids.silent!);
    expect(silence).toMatchObject({ status: "FAILED", response_code: null });
    expect(silence.error_message).toMatch(/Timed out/);
    // The status line decides; the endless body is cut by the same timeout and noted.
    const trickled = await attempt(ids.trickle!);
    expect(trickled.response_code).toBe(200);
    expect(trickled.error_message).toMatch(/Timed out/);
    const reset = await attempt(ids.resets!);
    expect(reset.response_code).toBe(200);
    expect(reset.error_message).toMatch(/Reading the response body failed/);
    // 64 MB answered, 1 KB read and kept; the connection is dropped.
    const big = await attempt(ids.huge!);
    expect(big).toMatchObject({ status: "SUCCEEDED", response_code: 200 });
    expect(big.response_body).toHaveLength(1024);
  }, 60_000);
});
