import dns from "node:dns";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BlockedAddressError,
  createPinnedDispatcher,
  type LookupFn,
  type UrlPolicy,
} from "../../src/security/url-policy.js";

const strict: UrlPolicy = { allowInsecure: false, allowedCidrs: [] };
const LOOPBACK = new Set(["127.0.0.1", "::1"]);

/**
 * Safety net for the network rule (tests may only reach 127.0.0.1 / ::1): wraps net.connect and tls.connect,
 * which undici calls, so that even a broken dispatcher could never open a socket elsewhere. It also records
 * every address actually handed to a socket, which is how "refused before connecting" is observed.
 */
function installNetworkGuard() {
  const handedToSocket: string[] = [];
  const guardOptions = (opts: any) => {
    if (typeof opts !== "object" || opts === null) throw new Error("network guard: unexpected connect call");
    const host = String(opts.host ?? "localhost");
    if (net.isIP(host)) {
      if (!LOOPBACK.has(host)) throw new Error(`network guard: refused ${host}`);
      handedToSocket.push(host);
      return opts;
    }
    const inner: LookupFn = opts.lookup ?? dns.lookup;
    const lookup: LookupFn = (hostname, options, callback) =>
      inner(hostname, options, (err, address, family) => {
        if (err) return callback(err, address, family);
        const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
        const outside = list.find((a) => !LOOPBACK.has(a));
        if (outside) return callback(new Error(`network guard: refused ${outside}`), []);
        handedToSocket.push(...list);
        callback(null, address, family);
      });
    return { ...opts, lookup };
  };
  const realNet = net.connect;
  const realTls = tls.connect;
  vi.spyOn(net, "connect").mockImplementation(((opts: any, ...rest: any[]) =>
    (realNet as any)(guardOptions(opts), ...rest)) as typeof net.connect);
  vi.spyOn(tls, "connect").mockImplementation(((opts: any, ...rest: any[]) =>
    (realTls as any)(guardOptions(opts), ...rest)) as typeof tls.connect);
  return { handedToSocket };
}

function fakeLookup(answers: Record<string, string[]>) {
  const calls: string[] = [];
  const lookup: LookupFn = (hostname, options, callback) => {
    calls.push(hostname);
    const answer = answers[hostname];
    if (!answer) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = "ENOTFOUND";
      setImmediate(() => callback(err, []));
      return;
    }
    const all = answer.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
    setImmediate(() => (options.all ? callback(null, all) : callback(null, all[0].address, all[0].family)));
  };
  return { lookup, calls };
}

interface TestServer {
  port: number;
  connections: number;
  requests: { url: string; host: string | undefined; remote: string | undefined }[];
  server: http.Server;
}

async function startServer(handler?: http.RequestListener): Promise<TestServer> {
  const state: TestServer = { port: 0, connections: 0, requests: [], server: undefined as never };
  state.server = http.createServer((req, res) => {
    state.requests.push({ url: req.url ?? "", host: req.headers.host, remote: req.socket.remoteAddress });
    if (handler) return handler(req, res);
    res.end("ok");
  });
  state.server.on("connection", () => {
    state.connections++;
  });
  await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
  state.port = (state.server.address() as net.AddressInfo).port;
  return state;
}

describe("createPinnedDispatcher", () => {
  let guard: ReturnType<typeof installNetworkGuard>;
  const toClose: { close(): unknown }[] = [];

  beforeEach(() => {
    guard = installNetworkGuard();
  });

  afterEach(async () => {
    for (const c of toClose.splice(0).reverse()) {
      if (c instanceof http.Server) {
        c.closeAllConnections();
        await new Promise((resolve) => c.close(resolve));
      } else {
        await c.close();
      }
    }
    vi.restoreAllMocks();
  });

  async function server(handler?: http.RequestListener) {
    const s = await startServer(handler);
    toClose.push(s.server);
    return s;
  }

  function dispatcher(policy: UrlPolicy, lookup?: LookupFn, connections?: number) {
    const agent = createPinnedDispatcher(policy, { lookup, connections });
    toClose.push(agent);
    return agent;
  }

  it("refuses a name resolving to loopback without allowInsecure; the server sees no connection", async () => {
    const srv = await server();
    const { lookup, calls } = fakeLookup({ localhost: ["127.0.0.1", "::1"] });
    const err = await request(`http://localhost:${srv.port}/`, {
      dispatcher: dispatcher(strict, lookup),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect((err as BlockedAddressError).message).toMatch(/localhost \(127\.0\.0\.1\).*loopback/);
    expect(calls).toEqual(["localhost"]);
    expect(srv.connections).toBe(0);
    expect(guard.handedToSocket).toEqual([]);
  });

  it("refuses IP literals, which never go through lookup", async () => {
    const srv = await server();
    const agent = dispatcher(strict);
    for (const url of [
      `http://127.0.0.1:${srv.port}/`,
      `http://[::1]:${srv.port}/`,
      `https://[::ffff:7f00:1]:${srv.port}/`,
    ]) {
      const err = await request(url, { dispatcher: agent }).catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(BlockedAddressError);
      expect((err as BlockedAddressError).range).toBe("loopback");
    }
    expect(srv.connections).toBe(0);
    expect(guard.handedToSocket).toEqual([]);
  });

  it("refuses a name resolving to a private address before any connection is attempted", async () => {
    const { lookup, calls } = fakeLookup({
      "evil.test": ["10.0.0.1"],
      "mixed.test": ["1.1.1.1", "169.254.169.254"],
    });
    const agent = dispatcher(strict, lookup);
    const evil = await request("http://evil.test/", { dispatcher: agent }).catch((e: unknown) => e);
    expect(evil).toBeInstanceOf(BlockedAddressError);
    expect(evil).toMatchObject({ hostname: "evil.test", address: "10.0.0.1", range: "private" });
    const mixed = await request("https://mixed.test/", { dispatcher: agent }).catch((e: unknown) => e);
    expect(mixed).toMatchObject({ address: "169.254.169.254", range: "linkLocal" });
    expect(calls).toEqual(["evil.test", "mixed.test"]);
    expect(guard.handedToSocket).toEqual([]);
  });

  it("passes DNS failures through unchanged", async () => {
    const { lookup } = fakeLookup({});
    const err = await request("http://gone.test/", { dispatcher: dispatcher(strict, lookup) }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "ENOTFOUND" });
    expect(guard.handedToSocket).toEqual([]);
  });

  it("reaches loopback with allowInsecure or a matching allowedCidrs entry", async () => {
    const srv = await server();
    const { lookup } = fakeLookup({ localhost: ["127.0.0.1"] });
    for (const policy of [
      { allowInsecure: true, allowedCidrs: [] },
      { allowInsecure: false, allowedCidrs: ["127.0.0.0/8"] },
    ]) {
      const agent = dispatcher(policy, lookup);
      for (const url of [`http://127.0.0.1:${srv.port}/a`, `http://localhost:${srv.port}/b`]) {
        const res = await request(url, { dispatcher: agent });
        expect(res.statusCode).toBe(200);
        expect(await res.body.text()).toBe("ok");
      }
    }
    expect(srv.requests.map((r) => r.url)).toEqual(["/a", "/b", "/a", "/b"]);
  });

  it("connects to the address it checked (pinning) and keeps the connection alive", async () => {
    const srv = await server();
    // A rebinding resolver: the first answer passes the check, any later one would point elsewhere.
    let answered = 0;
    const calls: string[] = [];
    const rebinding: LookupFn = (hostname, options, callback) => {
      calls.push(hostname);
      const address = answered++ === 0 ? "127.0.0.1" : "10.0.0.1";
      setImmediate(() =>
        options.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4),
      );
    };
    // One connection per origin, so that reuse (not a race between two sockets) decides how often we resolve.
    const agent = dispatcher({ allowInsecure: false, allowedCidrs: ["127.0.0.0/8"] }, rebinding, 1);
    for (let i = 0; i < 3; i++) {
      const res = await request(`http://rebind.test:${srv.port}/n${i}`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    expect(srv.requests).toEqual(
      [0, 1, 2].map((i) => ({ url: `/n${i}`, host: `rebind.test:${srv.port}`, remote: "127.0.0.1" })),
    );
    // One lookup, one connection, reused: the second (10.0.0.1) answer was never asked for.
    expect(calls).toEqual(["rebind.test"]);
    expect(srv.connections).toBe(1);
    expect(guard.handedToSocket).toEqual(["127.0.0.1"]);
  });

  it("checks every new connection, not just the first answer", async () => {
    const srv = await server();
    let answered = 0;
    const rebinding: LookupFn = (_hostname, _options, callback) => {
      const address = answered++ === 0 ? "127.0.0.1" : "10.0.0.1";
      setImmediate(() => callback(null, [{ address, family: 4 }]));
    };
    const agent = dispatcher({ allowInsecure: false, allowedCidrs: ["127.0.0.0/8"] }, rebinding);
    // Two requests at once need two connections, hence two lookups.
    const results = await Promise.allSettled(
      [1, 2].map(async (i) => {
        const res = await request(`http://rebind.test:${srv.port}/c${i}`, { dispatcher: agent });
        await res.body.dump();
        return res.statusCode;
      }),
    );
    expect(answered).toBe(2);
    expect(results.filter((r) => r.status === "fulfilled").map((r) => r.value)).toEqual([200]);
    const rejected = results.filter((r) => r.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toBeInstanceOf(BlockedAddressError);
    expect(srv.connections).toBe(1);
    expect(guard.handedToSocket).toEqual(["127.0.0.1"]);
  });

  it("network guard self-check: an unchecked agent would have been stopped by the guard", async () => {
    const plain = new Agent({
      connect: { lookup: (_h, _o, cb) => setImmediate(() => cb(null, [{ address: "10.0.0.1", family: 4 }])) },
    });
    toClose.push(plain);
    const err = await request("http://evil.test/", { dispatcher: plain }).catch((e: unknown) => e);
    expect((err as Error).message).toBe("network guard: refused 10.0.0.1");
    expect(guard.handedToSocket).toEqual([]);
  });

  it("does not follow redirects", async () => {
    const target = await server();
    const origin = await server((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/elsewhere` });
      res.end();
    });
    const agent = dispatcher({ allowInsecure: true, allowedCidrs: [] });
    const res = await request(`http://127.0.0.1:${origin.port}/start`, { dispatcher: agent });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`http://127.0.0.1:${target.port}/elsewhere`);
    await res.body.dump();
    expect(origin.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
    expect(target.requests).toHaveLength(0);
  });

  it("rejects a malformed allowedCidrs entry at construction", () => {
    expect(() => createPinnedDispatcher({ allowInsecure: false, allowedCidrs: ["10.0.0.0/99"] })).toThrow(
      /CIDR/,
    );
  });
});
