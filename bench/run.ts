/**
 * `npm run bench -- [--db pglite|postgres] [--quick] [--only a,b] [--rate N]`
 *
 * Starts the loopback receivers (bench/receiver.ts) and Hookgate (`bin/hookgate.js serve`, production
 * settings, durable database) as separate processes, measures the yardstick and Hookgate against it, prints a
 * table and writes bench/results/latest.json (and latest-<db>[-quick].json). See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "./end-to-end.js";
import { cpuMeter } from "./lib/cpu.js";
import { Gql } from "./lib/gql.js";
import { type HookgateProcess, memoryOf, newSecrets, spawnHookgate, startHookgate } from "./lib/hookgate.js";
import { maintain, statementMeter } from "./lib/pg-stats.js";
import { type Child, spawnNode, stopAll } from "./lib/procs.js";
import { nowMs, RpcClient } from "./lib/rpc.js";
import { round, sleep } from "./lib/stats.js";
import { type Phase, parseBenchArgs } from "./options.js";
import { peerPhase } from "./peer-phase.js";
import * as P from "./phases.js";
import { type BenchPostgres, freePort, startBenchPostgres } from "./postgres.js";
import { logCpu, logStatements, metricMb, newResult, printProfiles, printTable } from "./report.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = parseBenchArgs();
const { dbKind, quick, only, sizes } = args;

async function main() {
  const started = Date.now();
  const workDir = mkdtempSync(path.join(os.tmpdir(), "hookgate-bench-"));
  const logDir = path.join(workDir, "logs");
  mkdirSync(logDir);
  const profileDir = path.join(root, "bench/results/profiles");
  console.log(`Hookgate benchmark: db=${dbKind}${quick ? " (quick)" : ""}; logs in ${logDir}`);
  const result = newResult(root, dbKind, quick, started);
  const { details, errors } = result;
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

    // 2. End to end on the (nearly) empty database, one event per publishEvent (also growth.emptyPerSec),
    // then the same workload through publishEvents.
    const warmup = async () => {
      await E.throughput(gql!, receiver, Math.min(2000, sizes.throughputDeliveries / 10), "warm-up");
    };
    const endToEnd = async (
      name: "throughput" | "batch",
      run: (deliveries: number, label: string) => Promise<E.EndToEndResult>,
    ) => {
      await run(Math.min(2000, sizes.throughputDeliveries / 10), `${name} warm-up`);
      const stmts = await statementMeter(pgInfo?.url);
      const cpu = cpuMeter(cpuGroups());
      const r = await run(sizes.throughputDeliveries, name);
      const cpuMicrosPerDelivery = cpu.perUnit(r.deliveries);
      const statements = await stmts.read(r.deliveries);
      details[name] = { ...r, cpuMicrosPerDelivery, statements };
      logCpu(name, "delivery", cpuMicrosPerDelivery);
      logStatements(name, statements);
      result[name].perSec = round(r.perSec, 0);
      result[name].deliveries = r.deliveries;
      if (result.ceilingPerSec) result[name].ratioToCeiling = round(r.perSec / result.ceilingPerSec, 3);
      return r;
    };
    const tp = await phase("throughput", () =>
      endToEnd("throughput", (n, label) => E.throughput(gql!, receiver, n, label)),
    );
    await phase("batch", () => endToEnd("batch", (n, label) => E.batch(gql!, receiver, n, label)));

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
          rounds: sizes.peerRounds,
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
        result.peer = {
          perSec: r.peer.perSec,
          ratio: r.ratio,
          withLogPerSec: r.peerWithLog.perSec,
          ratioWithLog: r.ratioWithLog,
        };
        result.dispatcher = {
          perSec: r.dispatcher.perSec,
          ratioToCeiling:
            r.dispatcher.perSec && result.ceilingPerSec
              ? round(r.dispatcher.perSec / result.ceilingPerSec, 3)
              : null,
          firstDeliveryMs: r.firstDeliveryMs,
        };
      });
    }

    // 7a. Growth: the same throughput run with N old (succeeded, attempted) deliveries in the tables.
    if (only.has("growth") && sizes.oldDeliveries > 0) {
      await phase("growth", async () => {
        // The empty side of the ratio is measured here, right before the old rows go in: the same tables
        // (what earlier phases left) at the same moment of this machine, whose speed drifts between phases.
        if (!hg) {
          hg = await start();
          gql = new Gql(hg.origin, hg.adminKey, 16);
        }
        await warmup();
        // Each side with its statements, so that what history costs shows per statement. A CHECKPOINT
        // first, so that neither side starts with one pending from the work before it (seeding writes
        // ~1 GB of WAL).
        const measured = async (label: string) => {
          if (pgInfo) await maintain(pgInfo.url, "CHECKPOINT");
          const stmts = await statementMeter(pgInfo?.url);
          const r = await E.throughput(gql!, receiver, sizes.throughputDeliveries, label);
          const statements = await stmts.read(r.deliveries);
          logStatements(label, statements);
          return { ...r, statements };
        };
        const empty = await measured("throughput before the old deliveries");
        await stopHookgate();
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
        const r = await measured(`throughput with ${sizes.oldDeliveries} old deliveries`);
        details.growth = { seedMs: round(seeded.ms), full: r, empty };
        result.growth = {
          emptyPerSec: round(empty.perSec, 0),
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

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    await stopAll();
    process.exit(1);
  },
);
