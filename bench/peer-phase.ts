/**
 * The peer phase: the same backlog (N deliveries = N/10 events × 10 endpoints, queued up front in the
 * database) sent by Hookgate's dispatcher alone (`hookgate serve --role dispatcher`, spawned on the backlog)
 * and by the graphile-worker sender (bench/peer.ts) to the same receivers, each timed from its first to its
 * last receipt; also the time from spawning the dispatcher to its first delivery, and CPU µs per delivery of
 * every process involved. The peer always runs on PostgreSQL (graphile-worker needs it): the run's own
 * cluster, or with --db pglite a throwaway durable cluster started for it.
 *
 * ROUNDS: this VM's speed moves by up to 1.5x from one minute to the next, so one pair of runs can put the
 * ratio anywhere in a wide band. A full run alternates the two senders (Hookgate, peer, Hookgate, peer, ...)
 * and reports the median of the per-round ratios (each round's two runs are back to back), the median
 * first delivery, and the details of the median round. Hookgate's later rounds start with the earlier
 * rounds' deliveries in the table (succeeded, out of the due index); the peer deletes its jobs.
 */
import path from "node:path";
import { cpuMeter } from "./lib/cpu.js";
import {
  maintain,
  type StatementCost,
  statementMeter,
  type TableUpdates,
  tableUpdateMeter,
} from "./lib/pg-stats.js";
import type { Child } from "./lib/procs.js";
import { spawnNode } from "./lib/procs.js";
import { nowMs, RpcClient } from "./lib/rpc.js";
import { median, round } from "./lib/stats.js";
import { waitForReceipts } from "./phases.js";
import { type BenchPostgres, startBenchPostgres } from "./postgres.js";

export interface PeerContext {
  root: string;
  logDir: string;
  receiver: RpcClient;
  receiverPid: number;
  receiverOrigin: string;
  /** The run's PostgreSQL (undefined on PGlite). */
  pg: BenchPostgres | undefined;
  deliveries: number;
  /** Rounds of (Hookgate, peer), alternating; the ratio is the median of the rounds' ratios. */
  rounds: number;
  /** Writes `count` due deliveries to the throughput endpoints while no Hookgate runs. */
  seedBacklog(count: number, tag: string): Promise<unknown>;
  /** Spawns Hookgate with these serve arguments; resolves once spawned (not ready), with when. */
  spawnHookgate(args: string[]): Promise<{ child: Child; spawnedAt: number }>;
}

export interface SenderResult {
  deliveries: number;
  duplicates: number;
  complete: boolean;
  perSec: number | null;
  /** From spawning the process (Hookgate) or starting the worker (peer) to the first receipt. */
  firstDeliveryMs: number;
  cpuMicrosPerDelivery: Record<string, number | null>;
  /** Top statements by execution time (pg_stat_statements), per delivery; null where unavailable. */
  statements: StatementCost[] | null;
  /** Row updates of the queue table during the run and how many were HOT (pg_stat_user_tables). */
  tableUpdates?: TableUpdates | null;
}

const FANOUT = 10;

export interface PeerRound {
  dispatcher: SenderResult;
  peer: SenderResult;
  /** The peer recording each attempt (bench/peer.ts attemptLog): like for like with Hookgate. */
  peerWithLog: SenderResult;
  ratio: number | null;
  ratioWithLog: number | null;
}

export async function peerPhase(ctx: PeerContext) {
  const n = ctx.deliveries;
  const rounds: PeerRound[] = [];
  for (let i = 0; i < ctx.rounds; i++) {
    if (ctx.rounds > 1) console.log(`  peer phase: round ${i + 1} of ${ctx.rounds}`);
    const dispatcher = await hookgateAlone(ctx, n);
    const peer = await graphileWorker(ctx, n, false);
    const peerWithLog = await graphileWorker(ctx, n, true);
    rounds.push({
      dispatcher,
      peer,
      peerWithLog,
      ratio: ratioOf(dispatcher, peer),
      ratioWithLog: ratioOf(dispatcher, peerWithLog),
    });
  }
  const mid = medianRound(rounds, (r) => r.ratio);
  const midLog = medianRound(rounds, (r) => r.ratioWithLog);
  return {
    deliveries: n,
    fanout: FANOUT,
    dispatcher: mid.dispatcher,
    peer: mid.peer,
    peerWithLog: midLog.peerWithLog,
    ratio: mid.ratio,
    ratioWithLog: midLog.ratioWithLog,
    /** Median over the rounds of the dispatcher's spawn -> first delivery. */
    firstDeliveryMs: median(rounds.map((r) => r.dispatcher.firstDeliveryMs)),
    rounds: rounds.map((r) => ({
      dispatcherPerSec: r.dispatcher.perSec,
      peerPerSec: r.peer.perSec,
      peerWithLogPerSec: r.peerWithLog.perSec,
      ratio: r.ratio,
      ratioWithLog: r.ratioWithLog,
      firstDeliveryMs: r.dispatcher.firstDeliveryMs,
      cpuMicrosPerDelivery: {
        hookgate: r.dispatcher.cpuMicrosPerDelivery,
        peer: r.peer.cpuMicrosPerDelivery,
        peerWithLog: r.peerWithLog.cpuMicrosPerDelivery,
      },
    })),
  };
}

/** The round whose `ratio` is the median of the rounds' (the first such; rounds[0] when none has one). */
function medianRound(rounds: PeerRound[], ratio: (r: PeerRound) => number | null): PeerRound {
  const rated = rounds.filter((r) => ratio(r) !== null);
  if (rated.length === 0) return rounds[0];
  const m = median(rated.map((r) => ratio(r) as number));
  return rated.find((r) => ratio(r) === m) ?? rounds[0];
}

function ratioOf(a: SenderResult, b: SenderResult): number | null {
  return a.perSec && b.perSec ? round(a.perSec / b.perSec, 3) : null;
}

function rate(d: { unique: number; firstAt: number; lastAt: number }): number | null {
  return d.unique > 1 && d.lastAt > d.firstAt ? ((d.unique - 1) / (d.lastAt - d.firstAt)) * 1000 : null;
}

async function hookgateAlone(ctx: PeerContext, n: number): Promise<SenderResult> {
  await ctx.seedBacklog(n, `pd${Date.now().toString(36)}`);
  await ctx.receiver.call("reset");
  const stmts = await statementMeter(ctx.pg?.url);
  const updates = await tableUpdateMeter(ctx.pg?.url, "deliveries");
  const { child, spawnedAt: t0 } = await ctx.spawnHookgate(["--role", "dispatcher"]);
  let r: SenderResult;
  try {
    const cpu = cpuMeter({
      dispatcher: { pid: child.pid },
      postgres: ctx.pg?.serverPid ? { pid: ctx.pg.serverPid, children: true } : undefined,
      receiver: { pid: ctx.receiverPid },
    });
    const d = await waitForReceipts(ctx.receiver, n, 300_000);
    const cpuMicrosPerDelivery = cpu.perUnit(d.unique);
    r = {
      deliveries: d.unique,
      duplicates: d.duplicates,
      complete: d.complete,
      perSec: round(rate(d), 0),
      firstDeliveryMs: round(d.firstAt - t0, 0) as number,
      cpuMicrosPerDelivery,
      statements: await stmts.read(d.unique),
    };
  } finally {
    await child.stop(20_000);
  }
  // After the stop: an exiting backend reports its last table counts.
  r.tableUpdates = await updates.read();
  console.log(
    `  hookgate dispatcher alone: ${r.perSec}/s over ${r.deliveries} queued deliveries, first delivery ${r.firstDeliveryMs} ms after spawn; CPU µs/delivery ${JSON.stringify(r.cpuMicrosPerDelivery)}; deliveries row updates ${JSON.stringify(r.tableUpdates)}`,
  );
  return r;
}

async function graphileWorker(ctx: PeerContext, n: number, attemptLog: boolean): Promise<SenderResult> {
  // graphile-worker needs PostgreSQL: on a PGlite run, a durable throwaway cluster of its own.
  const own = ctx.pg ? undefined : await startBenchPostgres();
  const pg = (ctx.pg ?? own)!;
  const child = spawnNode("peer", ["--import", "tsx", path.join(ctx.root, "bench/peer.ts")], {
    cwd: ctx.root,
    logFile: path.join(ctx.logDir, "peer.log"),
    ipc: true,
  });
  try {
    const rpc = new RpcClient(child.process, "peer");
    await rpc.ready();
    const q = await rpc.call<{ ms: number }>("queue", { url: pg.url, count: n, fanout: FANOUT }, 600_000);
    console.log(`  peer: queued ${n} graphile-worker jobs in ${Math.round(q.ms)} ms`);
    // Like Hookgate's backlog (bench/seed.ts): without it, a later round's fetches wade through the dead
    // versions of the jobs the round before deleted (one round ran at 689/s with 1,250 µs of PostgreSQL
    // CPU per job, against 6,012/s and 79 µs in the round before it).
    await maintain(pg.url, "VACUUM ANALYZE");
    await ctx.receiver.call("reset");
    const stmts = await statementMeter(pg.url);
    const cpu = cpuMeter({
      peer: { pid: child.pid },
      postgres: pg.serverPid ? { pid: pg.serverPid, children: true } : undefined,
      receiver: { pid: ctx.receiverPid },
    });
    const t0 = nowMs();
    await rpc.call("start", { url: pg.url, origin: ctx.receiverOrigin, attemptLog });
    const d = await waitForReceipts(ctx.receiver, n, 300_000);
    const cpuMicrosPerDelivery = cpu.perUnit(d.unique);
    const statements = await stmts.read(d.unique);
    await rpc.call("stop", {}, 60_000);
    const r: SenderResult = {
      deliveries: d.unique,
      duplicates: d.duplicates,
      complete: d.complete,
      perSec: round(rate(d), 0),
      firstDeliveryMs: round(d.firstAt - t0, 0) as number,
      cpuMicrosPerDelivery,
      statements,
    };
    console.log(
      `  peer (graphile-worker 0.17${attemptLog ? ", with its attempt log" : ""}): ${r.perSec}/s over ${r.deliveries} queued jobs; CPU µs/delivery ${JSON.stringify(cpuMicrosPerDelivery)}`,
    );
    return r;
  } finally {
    await child.stop();
    await own?.stop();
  }
}
