/**
 * Healthy endpoints' delivery rate with and without a misbehaving one beside them (issue 14: "healthy
 * endpoints keep at least 80% of their delivery rate while one endpoint misbehaves").
 *
 *   node --import tsx scripts/receiver-faults-rate.ts [events=400] [rounds=3]
 *
 * Each phase: a fresh embedded database (PGlite in memory), four healthy receivers on 127.0.0.1 (200,
 * empty body) and, in the "with" phase, a fifth endpoint that accepts connections and never answers (the
 * worst case: every attempt holds its slot for the whole attempt timeout, 15 s by default). `events`
 * events are published to all endpoints before the dispatcher starts; the phase's rate is the healthy
 * deliveries (4 × events) divided by the time from the dispatcher's start until the receivers have them
 * all. Phases alternate (without, with, without, ...) so that the machine's load varies alike for both;
 * the medians and their ratio are printed. Loopback only; everything it starts, it stops.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { startHookgate } from "../src/app.js";
import { testConfig } from "../src/config.js";
import { openDatabase } from "../src/db/database.js";
import { createDispatcher } from "../src/dispatcher/index.js";
import { authenticate } from "../src/domain/api-keys.js";
import { createEndpoint } from "../src/domain/endpoints.js";
import { createEventType } from "../src/domain/event-types.js";
import { publishEvent } from "../src/domain/events.js";

const EVENTS = Number(process.argv[2] ?? 400);
const ROUNDS = Number(process.argv[3] ?? 3);
const HEALTHY = 4;

async function listen(server: Server): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function phase(withHung: boolean): Promise<number> {
  let received = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const healthy = await listen(
    createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.end();
        if (++received === HEALTHY * EVENTS) done();
      });
    }) as unknown as Server,
  );
  const hung = await listen(createTcpServer((s) => s.resume()));
  const db = await openDatabase({ pglite: await PGlite.create("memory://") });
  const hookgate = await startHookgate(
    testConfig({ logLevel: "silent", encryptionKey: randomBytes(32), allowInsecureUrls: true }),
    { db, role: "api", port: 0, host: "127.0.0.1" },
  );
  const app = hookgate.app;
  try {
    const auth = await authenticate(app, hookgate.firstAdminKey!);
    if (!auth.ok) throw new Error(auth.reason);
    const actor = auth.actor;
    await createEventType(app, actor, { name: "bench.fault" });
    for (let i = 0; i < HEALTHY; i++) {
      await createEndpoint(app, actor, {
        url: `http://127.0.0.1:${healthy.port}/h${i}`,
        events: ["bench.fault"],
      });
    }
    if (withHung) {
      await createEndpoint(app, actor, {
        url: `http://127.0.0.1:${hung.port}/hung`,
        events: ["bench.fault"],
      });
    }
    for (let i = 0; i < EVENTS; i++) await publishEvent(app, actor, { type: "bench.fault", payload: { i } });
    const dispatcher = createDispatcher(app, { config: { shutdownGraceMs: 0 } });
    const started = performance.now();
    await dispatcher.start();
    await all;
    const seconds = (performance.now() - started) / 1000;
    await dispatcher.stop();
    return (HEALTHY * EVENTS) / seconds;
  } finally {
    await hookgate.stop();
    await db.close();
    await healthy.close();
    await hung.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const without: number[] = [];
const withHung: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  without.push(await phase(false));
  withHung.push(await phase(true));
  console.log(
    `round ${r + 1}: healthy deliveries/s without ${without.at(-1)!.toFixed(0)}, with a hanging endpoint ${withHung.at(-1)!.toFixed(0)}`,
  );
}
const ratio = median(withHung) / median(without);
console.log(
  `median healthy deliveries/s: without ${median(without).toFixed(0)}, with a hanging endpoint ${median(withHung).toFixed(0)}; ratio ${(ratio * 100).toFixed(0)}%`,
);
