/**
 * `npm run bench -- [--db pglite|postgres] [--quick] [--only a,b] [--rate N]`
 *
 * Starts the loopback receivers (bench/receiver.ts) and Hookgate (`bin/hookgate.js serve`, production
 * settings, durable database) as separate processes, measures the yardstick and Hookgate against it, prints a
 * table and writes bench/results/latest.json (and latest-<db>[-quick].json). See bench/README.md.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuMeter } from "./lib/cpu.js";
import { Gql } from "./lib/gql.js";
import { type HookgateProcess, memoryOf, newSecrets, spawnHookgate, startHookgate } from "./lib/hookgate.js";
import { type Child, spawnNode, stopAll } from "./lib/procs.js";
import { nowMs, RpcClient } from "./lib/rpc.js";
import { round, sleep } from "./lib/stats.js";
import { peerPhase } from "./peer-phase.js";
import * as P from "./phases.js";
import { type BenchPostgres, freePort, startBenchPostgres } from "./postgres.js";
import { summarise } from "./profile-summary.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const PHASES = [
  "ceiling",
  "throughput",
  "peer",
  "latency",
  "fanout",
  "api",
  "subscriptions",
  "growth",
  "memory",
] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rate: { type: "string" },
    profile: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  console.log(
    `npm run bench -- [--db pglite|postgres] [--quick] [--only ${PHASES.join(",")}] [--rate EVENTS_PER_SEC]`,
  );
  process.exit(0);
}
if (args.db !== "pglite" && args.db !== "postgres") {
  console.error(`--db must be pglite or postgres (got ${args.db})`);
  process.exit(2);
}
const dbKind = args.db as "pglite" | "postgres";
const quick = Boolean(args.quick);
const only = new Set<Phase>(
  args.only ? (args.only.split(",").map((s) => s.trim()) as Phase[]) : (PHASES as readonly Phase[]),
);
for (const p of only) {
  if (!PHASES.includes(p)) {
    console.error(`--only: unknown phase ${p} (phases: ${PHASES.join(", ")})`);
    process.exit(2);
  }
}

const sizes: P.Sizes = quick
  ? {
      ceilingMs: 2500,
      throughputDeliveries: 3000,
      latencyRate: 500,
      latencyMs: 2500,
      fanoutEndpoints: 250,
      fanoutReps: 3,
      apiMs: 2500,
      listRequests: 200,
      subscribers: 200,
      subscriptionEvents: 5,
      backlog: 50_000,
      backlogSampleMs: 4000,
      oldDeliveries: 0,
      peerDeliveries: 3000,
    }
  : {
      ceilingMs: 10_000,
      throughputDeliveries: 50_000,
      latencyRate: 500,
      latencyMs: 20_000,
      fanoutEndpoints: 1000,
      fanoutReps: 11,
      apiMs: 15_000,
      listRequests: 1000,
      subscribers: 1000,
      subscriptionEvents: 20,
      backlog: 1_000_000,
      backlogSampleMs: 30_000,
      oldDeliveries: 1_000_000,
      peerDeliveries: 20_000,
    };
if (args.rate) sizes.latencyRate = Number(args.rate);

function gitCommit(): string | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--untracked-files=no", "--", "src", "bin", "prisma"],
      {
        cwd: root,
        encoding: "utf8",
      },
    ).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
  };
}

async function main() {
  const started = Date.now();
  const workDir = mkdtempSync(path.join(os.tmpdir(), "hookgate-bench-"));
  const logDir = path.join(workDir, "logs");
  mkdirSync(logDir);
  const profileDir = path.join(root, "bench/results/profiles");
  console.log(`Hookgate benchmark: db=${dbKind}${quick ? " (quick)" : ""}; logs in ${logDir}`);
  const errors: Record<string, string> = {};
  const details: Record<string, unknown> = {};
  const result = {
    machine: machine(),
    db: dbKind,
    commit: gitCommit(),
    quick,
    startedAt: new Date(started).toISOString(),
    durationSec: 0 as number,
    ceilingPerSec: null as number | null,
    throughput: {
      perSec: null as number | null,
      ratioToCeiling: null as number | null,
      deliveries: null as number | null,
    },
    latencyMs: {
      p50: null as number | null,
      p95: null as number | null,
      p99: null as number | null,
      offeredPerSec: null as number | null,
    },
    fanout: { endpoints: null as number | null, commitMsP50: null as number | null },
    api: { publishPerSec: null as number | null, listP99Ms: null as number | null },
    subscriptions: { subscribers: null as number | null, p99Ms: null as number | null },
    memory: { backlog: null as number | null, peakRssMb: null as number | null },
    /** graphile-worker sender on the same queued backlog; ratio = Hookgate's dispatcher alone / peer. */
    peer: { perSec: null as number | null, ratio: null as number | null },
    dispatcher: {
      perSec: null as number | null,
      ratioToCeiling: null as number | null,
      firstDeliveryMs: null as number | null,
    },
    growth: {
      emptyPerSec: null as number | null,
      fullPerSec: null as number | null,
      oldDeliveries: null as number | null,
    },
    details,
    errors,
  };

  // For --profile: when each phase ran, in ms since the current Hookgate process was spawned.
  const windows: { hookgate: number; phase: string; fromMs: number; toMs: number }[] = [];
  let spawnedAt = 0;
  let starts = 0;
  const phase = async <T>(name: Phase, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!only.has(name)) return undefined;
    const from = nowMs();
    try {
      return await fn();
    } catch (err) {
      errors[name] = (err as Error).message.slice(0, 2000);
      console.error(`  ${name} FAILED: ${(err as Error).message.slice(0, 2000)}`);
      return undefined;
    } finally {
      if (spawnedAt > 0)
        windows.push({ hookgate: starts, phase: name, fromMs: from - spawnedAt, toMs: nowMs() - spawnedAt });
    }
  };

  let pgInfo: BenchPostgres | undefined;
  let hg: HookgateProcess | undefined;
  let gql: Gql | undefined;
  try {
    // Receivers (own process).
    const receiverChild = spawnNode("receiver", ["--import", "tsx", path.join(root, "bench/receiver.ts")], {
      cwd: root,
      logFile: path.join(logDir, "receiver.log"),
      ipc: true,
    });
    const receiver = new RpcClient(receiverChild.process, "receiver");
    const { port: receiverPort } = await receiver.ready<{ port: number }>();
    const receiverOrigin = `http://127.0.0.1:${receiverPort}`;

    // 1. Ceiling (own process), before anything else loads the machine.
    await phase("ceiling", async () => {
      const child = spawnNode("ceiling", ["--import", "tsx", path.join(root, "bench/ceiling.ts")], {
        cwd: root,
        logFile: path.join(logDir, "ceiling.log"),
        ipc: true,
      });
      try {
        const rpc = new RpcClient(child.process, "ceiling");
        await rpc.ready();
        const cpu = cpuMeter({ client: { pid: child.pid }, receiver: { pid: receiverChild.pid } });
        const r = await P.ceiling(rpc, receiverOrigin, sizes);
        result.ceilingPerSec = round(r.perSec, 0);
        const cpuMicrosPerRequest = cpu.perUnit(r.allRequests);
        details.ceiling = { ...r, cpuMicrosPerRequest };
        logCpu("ceiling", "request", cpuMicrosPerRequest);
      } finally {
        await child.stop();
      }
    });

    const needsHookgate = [...only].some((p) => p !== "ceiling");
    if (!needsHookgate) return;

    // Database.
    const secrets = newSecrets();
    const dataDir = path.join(workDir, "hookgate-data");
    if (dbKind === "postgres") {
      pgInfo = await startBenchPostgres();
      details.postgres = { source: pgInfo.source, version: pgInfo.version, settings: pgInfo.settings };
      console.log(`  PostgreSQL ${pgInfo.version} (${pgInfo.source}); ${JSON.stringify(pgInfo.settings)}`);
    } else {
      details.pglite = { dataDir: "temporary directory on local disk" };
    }
    const start = async () => {
      starts++;
      const t0 = nowMs();
      spawnedAt = t0;
      const h = await startHookgate({
        root,
        dataDir,
        databaseUrl: pgInfo?.url,
        ...secrets,
        logFile: path.join(logDir, `hookgate-${starts}.log`),
        cpuProfileDir: args.profile ? path.join(profileDir, `hookgate-${starts}`) : undefined,
      });
      await sleep(300);
      const mem = memoryOf(h.child.pid);
      console.log(
        `  Hookgate #${starts} ready in ${Math.round(nowMs() - t0)} ms (pid ${h.child.pid}, RSS ${Math.round(mem?.rssMb ?? 0)} MB)`,
      );
      return h;
    };
    const stopHookgate = async () => {
      if (gql) await gql.close();
      gql = undefined;
      if (hg) await hg.stop();
      hg = undefined;
    };

    // CPU per unit of work for every process on the path (bench/lib/cpu.ts).
    const cpuGroups = () => ({
      hookgate: hg ? { pid: hg.child.pid } : undefined,
      postgres: pgInfo?.serverPid ? { pid: pgInfo.serverPid, children: true } : undefined,
      receiver: { pid: receiverChild.pid },
      "bench client": { pid: process.pid },
    });

    hg = await start();
    gql = new Gql(hg.origin, hg.adminKey, 16);
    {
      const metrics = await fetch(`${hg.origin}/metrics`).then((r) => r.text());
      details.idle = {
        rssMb: round(memoryOf(hg.child.pid)?.rssMb),
        heapUsedMb: metricMb(metrics, "hookgate_process_nodejs_heap_size_used_bytes"),
        heapTotalMb: metricMb(metrics, "hookgate_process_nodejs_heap_size_total_bytes"),
        externalMb: metricMb(metrics, "hookgate_process_nodejs_external_memory_bytes"),
      };
    }
    const deadOrigin = `http://127.0.0.1:${await freePort()}`; // nothing listens there: "receiver down"
    // The 1,000 fan-out endpoints only when that phase runs (they also count in endpoints' totalCount).
    const s = await P.setup(gql, receiverOrigin, deadOrigin, only.has("fanout") ? sizes.fanoutEndpoints : 0);

    // 2. Throughput on the (nearly) empty database; also growth.emptyPerSec.
    const warmup = async () => {
      await P.throughput(gql!, receiver, Math.min(2000, sizes.throughputDeliveries / 10), "warm-up");
    };
    const tp = await phase("throughput", async () => {
      await warmup();
      const cpu = cpuMeter(cpuGroups());
      const r = await P.throughput(gql!, receiver, sizes.throughputDeliveries, "throughput");
      const cpuMicrosPerDelivery = cpu.perUnit(r.deliveries);
      details.throughput = { ...r, cpuMicrosPerDelivery };
      logCpu("throughput", "delivery", cpuMicrosPerDelivery);
      result.throughput.perSec = round(r.perSec, 0);
      result.throughput.deliveries = r.deliveries;
      if (result.ceilingPerSec) result.throughput.ratioToCeiling = round(r.perSec / result.ceilingPerSec, 3);
      return r;
    });

    await phase("latency", async () => {
      const r = await P.latency(gql!, receiver, sizes.latencyRate, sizes.latencyMs);
      details.latency = r;
      // Past saturation the figures above are queueing time; also show the latency of a lightly loaded
      // Hookgate (full runs only).
      if (!quick && r.achievedPerSec < 0.95 * sizes.latencyRate) {
        await sleep(2000);
        details.latencyAt50PerSec = await P.latency(gql!, receiver, 50, 10_000);
      }
      result.latencyMs = {
        p50: r.fromCommit.p50,
        p95: r.fromCommit.p95,
        p99: r.fromCommit.p99,
        offeredPerSec: r.offeredPerSec,
      };
    });

    await phase("fanout", async () => {
      const r = await P.fanout(gql!, receiver, sizes.fanoutEndpoints, sizes.fanoutReps);
      details.fanout = r;
      result.fanout = { endpoints: r.endpoints, commitMsP50: round(r.commitMsP50, 1) };
    });

    await phase("api", async () => {
      details.api = {};
      let failure: Error | undefined;
      try {
        const cpu = cpuMeter(cpuGroups());
        const pub = await P.apiPublish(hg!.origin, hg!.adminKey, receiver, sizes.apiMs);
        // Per publishEvent, counting the warm-up calls and the delivery (fan-out 1) each one causes.
        const cpuMicrosPerPublish = cpu.perUnit(pub.published + pub.clients * 4);
        (details.api as any).publish = { ...pub, cpuMicrosPerPublish };
        logCpu("api", "publishEvent and its delivery", cpuMicrosPerPublish);
        result.api.publishPerSec = round(pub.publishPerSec, 0);
      } catch (err) {
        failure = err as Error;
      }
      const list = await P.apiList(gql!, sizes.listRequests);
      (details.api as any).list = list;
      result.api.listP99Ms = list.p99Ms;
      if (failure) throw failure;
    });

    await phase("subscriptions", async () => {
      const r = await P.subscriptions(hg!, gql!, s.sub, sizes.subscribers, sizes.subscriptionEvents);
      details.subscriptions = r;
      result.subscriptions = { subscribers: r.subscribers, p99Ms: r.p99Ms };
    });

    // Peer: Hookgate's dispatcher alone and the graphile-worker sender on the same queued backlog.
    if (only.has("peer")) {
      await stopHookgate();
      await phase("peer", async () => {
        let n = 0;
        const r = await peerPhase({
          root,
          logDir,
          receiver,
          receiverPid: receiverChild.pid,
          receiverOrigin,
          pg: pgInfo,
          deliveries: sizes.peerDeliveries,
          seedBacklog: (count, tag) =>
            seed({ kind: "backlog", count, endpointIds: s.tp, eventType: P.TYPES.tp, tag }),
          spawnHookgate: (serveArgs) =>
            spawnHookgate(
              {
                root,
                dataDir,
                databaseUrl: pgInfo?.url,
                ...secrets,
                logFile: path.join(logDir, `hookgate-dispatcher-${++n}.log`),
                cpuProfileDir: args.profile ? path.join(profileDir, `dispatcher-${n}`) : undefined,
              },
              serveArgs,
            ),
        });
        details.peer = r;
        result.peer = { perSec: r.peer.perSec, ratio: r.ratio };
        result.dispatcher = {
          perSec: r.dispatcher.perSec,
          ratioToCeiling:
            r.dispatcher.perSec && result.ceilingPerSec
              ? round(r.dispatcher.perSec / result.ceilingPerSec, 3)
              : null,
          firstDeliveryMs: r.dispatcher.firstDeliveryMs,
        };
      });
    }

    // 7a. Growth: the same throughput run with N old (succeeded, attempted) deliveries in the tables.
    if (only.has("growth") && sizes.oldDeliveries > 0) {
      await stopHookgate();
      await phase("growth", async () => {
        const seeded = await seed({
          kind: "old",
          count: sizes.oldDeliveries,
          endpointIds: s.tp,
          eventType: P.TYPES.tp,
          tag: "old",
        });
        // The dispatcher on its own: as many deliveries as the throughput run, due now to the live receivers,
        // written while Hookgate is down; rate from the first to the last receipt after it starts.
        await seed({
          kind: "backlog",
          count: sizes.throughputDeliveries,
          endpointIds: s.tp,
          eventType: P.TYPES.tp,
          tag: "dsp",
        });
        await receiver.call("reset");
        hg = await start();
        const d = await P.waitForReceipts(receiver, sizes.throughputDeliveries, 300_000);
        const dispatchPerSec = d.unique > 1 ? ((d.unique - 1) / (d.lastAt - d.firstAt)) * 1000 : null;
        details.dispatchOnly = {
          deliveries: d.unique,
          complete: d.complete,
          perSec: round(dispatchPerSec, 0),
        };
        console.log(
          `  dispatcher alone: ${Math.round(dispatchPerSec ?? 0)} deliveries/s (${d.unique} pre-seeded due deliveries, first to last receipt)`,
        );
        gql = new Gql(hg.origin, hg.adminKey, 16);
        await warmup();
        const r = await P.throughput(
          gql,
          receiver,
          sizes.throughputDeliveries,
          `throughput with ${sizes.oldDeliveries} old deliveries`,
        );
        details.growth = { seedMs: round(seeded.ms), full: r, empty: tp ?? null };
        result.growth = {
          emptyPerSec: tp ? round(tp.perSec, 0) : null,
          fullPerSec: round(r.perSec, 0),
          oldDeliveries: sizes.oldDeliveries,
        };
      });
    } else if (tp) {
      result.growth.emptyPerSec = round(tp.perSec, 0);
    }

    // 7b. Memory: Hookgate restarted on a backlog of N due deliveries whose receiver is down.
    if (only.has("memory")) {
      await stopHookgate();
      await phase("memory", async () => {
        const seeded = await seed({
          kind: "backlog",
          count: sizes.backlog,
          endpointIds: s.dead,
          eventType: P.TYPES.dead,
          tag: "blg",
        });
        const t0 = nowMs();
        hg = await start();
        const pid = hg.child.pid;
        let peak = 0;
        let last = 0;
        // Highest RSS per second since the start of this Hookgate, to see when the peak happens.
        const timeline: number[] = [];
        const end = nowMs() + sizes.backlogSampleMs;
        while (nowMs() < end && hg.child.isRunning()) {
          const m = memoryOf(pid);
          if (m) {
            peak = Math.max(peak, m.hwmMb, m.rssMb);
            last = m.rssMb;
            const sec = Math.floor((nowMs() - t0) / 1000);
            timeline[sec] = Math.round(Math.max(timeline[sec] ?? 0, m.rssMb));
          }
          await sleep(200);
        }
        if (!hg.child.isRunning()) throw new Error(`Hookgate died under the backlog:\n${hg.child.logTail()}`);
        const metrics = await fetch(`${hg.origin}/metrics`)
          .then((r) => r.text())
          .catch(() => "");
        let attempted = 0;
        for (const m of metrics.matchAll(/^hookgate_delivery_attempts_total(?:\{[^}]*\})?\s+([\d.e+]+)$/gm)) {
          attempted += Number(m[1]);
        }
        details.memory = {
          seedMs: round(seeded.ms),
          sampledMs: round(nowMs() - t0),
          peakRssMb: round(peak),
          lastRssMb: round(last),
          attemptsDuringSample: attempted,
          rssMbPerSecond: timeline,
          // Where the memory is, from Hookgate's own /metrics (prom-client default metrics), at the end.
          heapUsedMb: metricMb(metrics, "hookgate_process_nodejs_heap_size_used_bytes"),
          heapTotalMb: metricMb(metrics, "hookgate_process_nodejs_heap_size_total_bytes"),
          externalMb: metricMb(metrics, "hookgate_process_nodejs_external_memory_bytes"),
        };
        result.memory = { backlog: sizes.backlog, peakRssMb: round(peak, 0) };
        console.log(
          `  memory: peak RSS ${Math.round(peak)} MB (now ${Math.round(last)} MB) with ${sizes.backlog} deliveries in the backlog (receiver down), sampled ${Math.round(sizes.backlogSampleMs / 1000)} s`,
        );
      });
    }

    async function seed(p: {
      kind: "old" | "backlog";
      count: number;
      endpointIds: string[];
      eventType: string;
      tag: string;
    }) {
      const child: Child = spawnNode("seed", ["--import", "tsx", path.join(root, "bench/seed.ts")], {
        cwd: root,
        logFile: path.join(logDir, "seed.log"),
        ipc: true,
      });
      try {
        const rpc = new RpcClient(child.process, "seed");
        await rpc.ready();
        const r = await rpc.call<{ ms: number; rows: number }>(
          "seed",
          { ...p, databaseUrl: pgInfo?.url, dataDir: pgInfo ? undefined : dataDir },
          900_000,
        );
        console.log(`  seeded ${p.count} ${p.kind} deliveries in ${Math.round(r.ms)} ms`);
        return r;
      } finally {
        await child.stop();
      }
    }
  } finally {
    if (gql) await gql.close().catch(() => {});
    await stopAll();
    result.durationSec = round((Date.now() - started) / 1000, 1) as number;
    const out = path.join(root, "bench/results");
    mkdirSync(out, { recursive: true });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(path.join(out, "latest.json"), json);
    writeFileSync(path.join(out, `latest-${dbKind}${quick ? "-quick" : ""}.json`), json);
    printTable(result);
    if (args.profile) printProfiles(profileDir, windows);
    if (Object.keys(errors).length === 0) rmSync(workDir, { recursive: true, force: true });
    else console.log(`(logs kept in ${logDir})`);
  }
}

function metricMb(metrics: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([\\d.e+]+)$`, "m").exec(metrics);
  return m ? round(Number(m[1]) / 1024 ** 2) : null;
}

function printProfiles(
  dir: string,
  windows: { hookgate: number; phase: string; fromMs: number; toMs: number }[],
) {
  if (!existsSync(dir)) return;
  for (const sub of readdirSync(dir).sort()) {
    const n = Number(sub.replace("hookgate-", ""));
    // The main thread's profile is the first one written (worker threads get higher numbers).
    const files = readdirSync(path.join(dir, sub))
      .filter((f) => f.endsWith(".cpuprofile"))
      .sort();
    if (files.length === 0) continue;
    const file = path.join(dir, sub, files[0]);
    const parts = [summarise(file, { top: 25 })];
    for (const w of windows.filter((x) => x.hookgate === n)) {
      parts.push(summarise(file, { top: 25, fromMs: w.fromMs, toMs: w.toMs, label: w.phase }));
    }
    const text = parts.join("\n\n");
    writeFileSync(`${file}.txt`, `${text}\n`);
    console.log(`\n${text}`);
  }
}

function printTable(r: any) {
  const pg = r.db === "postgres";
  const rows: [string, string, string, boolean | null][] = [];
  const v = (x: number | null, unit = "") => (x === null || x === undefined ? "—" : `${x}${unit}`);
  const check = (x: number | null, ok: (x: number) => boolean) =>
    x === null || x === undefined ? null : ok(x);
  rows.push(["ceiling (signed POSTs/s, plain Node)", v(r.ceilingPerSec), "yardstick", null]);
  rows.push([
    `throughput (deliveries/s, ${v(r.throughput.deliveries)} deliveries)`,
    `${v(r.throughput.perSec)} (${v(r.throughput.ratioToCeiling, "× ceiling")})`,
    pg ? "≥ 0.5 × ceiling" : "≥ 0.15 × ceiling",
    check(r.throughput.ratioToCeiling, (x) => x >= (pg ? 0.5 : 0.15)),
  ]);
  if (r.peer?.perSec) {
    rows.push([
      `peer: graphile-worker 0.17 sender (${v(r.details?.peer?.deliveries)} queued, deliveries/s)`,
      v(r.peer.perSec),
      "(yardstick)",
      null,
    ]);
  }
  if (r.dispatcher?.perSec) {
    rows.push([
      "dispatcher alone, same queued backlog (deliveries/s)",
      `${v(r.dispatcher.perSec)} (${v(r.peer?.ratio, "× peer")}, ${v(r.dispatcher.ratioToCeiling, "× ceiling")})`,
      "≥ 1.0 × peer, ≥ 0.5 × ceiling (PG)",
      pg ? check(r.peer?.ratio, (x) => x >= 1 && (r.dispatcher.ratioToCeiling ?? 0) >= 0.5) : null,
    ]);
    rows.push([
      "dispatcher spawn → first delivery",
      v(r.dispatcher.firstDeliveryMs, " ms"),
      "≤ 500 ms",
      check(r.dispatcher.firstDeliveryMs, (x) => x <= 500),
    ]);
  }
  if (r.details?.dispatchOnly?.perSec) {
    rows.push([
      "dispatcher alone (pre-seeded due deliveries/s)",
      v(r.details.dispatchOnly.perSec),
      "(information)",
      null,
    ]);
  }
  rows.push([
    `latency commit→receipt @${v(r.latencyMs.offeredPerSec)}/s p50/p95/p99`,
    `${v(r.latencyMs.p50)} / ${v(r.latencyMs.p95)} / ${v(r.latencyMs.p99)} ms`,
    "p50 ≤ 10, p99 ≤ 50 ms (PG)",
    check(r.latencyMs.p50, (p50) => p50 <= 10 && r.latencyMs.p99 <= 50),
  ]);
  rows.push([
    `fan-out ${v(r.fanout.endpoints)} endpoints: publish→commit p50`,
    v(r.fanout.commitMsP50, " ms"),
    "≤ 150 ms",
    check(r.fanout.commitMsP50, (x) => x <= 150),
  ]);
  rows.push([
    "publishEvent/s (32 clients)",
    v(r.api.publishPerSec),
    "≥ 2,000/s (PG)",
    check(r.api.publishPerSec, (x) => x >= 2000),
  ]);
  rows.push([
    "endpoints(first:100) p99",
    v(r.api.listP99Ms, " ms"),
    "≤ 25 ms",
    check(r.api.listP99Ms, (x) => x <= 25),
  ]);
  rows.push([
    `subscriptions: ${v(r.subscriptions.subscribers)} subscribers p99`,
    v(r.subscriptions.p99Ms, " ms"),
    "≤ 100 ms",
    check(r.subscriptions.p99Ms, (x) => x <= 100),
  ]);
  rows.push([
    `peak RSS, ${v(r.memory.backlog)} deliveries backlog`,
    v(r.memory.peakRssMb, " MB"),
    "≤ 400 MB",
    check(r.memory.peakRssMb, (x) => x <= 400),
  ]);
  const ratio =
    r.growth.emptyPerSec && r.growth.fullPerSec ? r.growth.fullPerSec / r.growth.emptyPerSec : null;
  rows.push([
    `growth: deliveries/s empty vs ${v(r.growth.oldDeliveries)} old`,
    `${v(r.growth.emptyPerSec)} vs ${v(r.growth.fullPerSec)}${ratio ? ` (${ratio.toFixed(2)}×)` : ""}`,
    "full ≥ 0.8 × empty",
    check(ratio, (x) => x >= 0.8),
  ]);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const w2 = Math.max(...rows.map((x) => x[2].length));
  console.log(
    `\nHookgate benchmark — db=${r.db}${r.quick ? " (quick)" : ""}, commit ${r.commit}, ${r.machine.cpus} CPUs, ${r.durationSec} s`,
  );
  console.log(`${"metric".padEnd(w0)}  ${"result".padEnd(w1)}  ${"target".padEnd(w2)}  ok`);
  console.log(`${"-".repeat(w0)}  ${"-".repeat(w1)}  ${"-".repeat(w2)}  --`);
  for (const [a, b, c, ok] of rows) {
    console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c.padEnd(w2)}  ${ok === null ? "" : ok ? "yes" : "NO"}`);
  }
  const errs = Object.keys(r.errors);
  if (errs.length)
    console.log(`\nfailed phases: ${errs.join(", ")} (see "errors" in bench/results/latest.json)`);
  console.log("\nwritten: bench/results/latest.json");
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    await stopAll();
    process.exit(1);
  },
);

function logCpu(phase: string, unit: string, perUnit: Record<string, number | null>): void {
  const parts = Object.entries(perUnit).map(([k, v]) => `${k} ${v ?? "n/a"}`);
  const known = Object.values(perUnit).filter((v): v is number => v !== null);
  const total = known.reduce((a, b) => a + b, 0);
  console.log(`  ${phase}: CPU µs per ${unit}: ${parts.join(", ")}; total ${total}`);
}
