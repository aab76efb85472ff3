/**
 * What a run reports: the result object written to bench/results/latest.json (its top-level fields are the
 * issue's figures; `details` holds everything behind them), the printed table with each target, the console
 * lines for CPU and statement costs, and the --profile summaries.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { StatementCost } from "./lib/pg-stats.js";
import { round } from "./lib/stats.js";
import { summarise } from "./profile-summary.js";

/** The result object, every figure null until its phase ran. */
export function newResult(root: string, db: "pglite" | "postgres", quick: boolean, started: number) {
  return {
    machine: machine(),
    db,
    commit: gitCommit(root),
    quick,
    startedAt: new Date(started).toISOString(),
    durationSec: 0 as number,
    ceilingPerSec: null as number | null,
    throughput: {
      perSec: null as number | null,
      ratioToCeiling: null as number | null,
      deliveries: null as number | null,
    },
    /** The throughput workload published through publishEvents (batches of up to 100 events). */
    batch: {
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
    /**
     * graphile-worker sender on the same queued backlog; ratio = Hookgate's dispatcher alone / peer. The
     * same sender recording each attempt (`withLog`) is the like-for-like one, and the target's yardstick.
     */
    peer: {
      perSec: null as number | null,
      ratio: null as number | null,
      withLogPerSec: null as number | null,
      ratioWithLog: null as number | null,
    },
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
    details: {} as Record<string, unknown>,
    errors: {} as Record<string, string>,
  };
}

export type BenchResult = ReturnType<typeof newResult>;

function gitCommit(root: string): string | null {
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

export function metricMb(metrics: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([\\d.e+]+)$`, "m").exec(metrics);
  return m ? round(Number(m[1]) / 1024 ** 2) : null;
}

export function printProfiles(
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

export function printTable(r: any) {
  const pg = r.db === "postgres";
  const rows: [string, string, string, boolean | null][] = [];
  const v = (x: number | null, unit = "") => (x === null || x === undefined ? "—" : `${x}${unit}`);
  const check = (x: number | null, ok: (x: number) => boolean) =>
    x === null || x === undefined ? null : ok(x);
  rows.push(["ceiling (signed POSTs/s, plain Node)", v(r.ceilingPerSec), "yardstick", null]);
  rows.push([
    `end to end, publishEvent (deliveries/s, ${v(r.throughput.deliveries)} deliveries)`,
    `${v(r.throughput.perSec)} (${v(r.throughput.ratioToCeiling, "× ceiling")})`,
    pg ? "≥ 0.25 × ceiling" : "≥ 0.1 × ceiling",
    check(r.throughput.ratioToCeiling, (x) => x >= (pg ? 0.25 : 0.1)),
  ]);
  rows.push([
    `end to end with publishEvents (deliveries/s, ${v(r.batch?.deliveries)} deliveries)`,
    `${v(r.batch?.perSec)} (${v(r.batch?.ratioToCeiling, "× ceiling")})`,
    pg ? "≥ 0.35 × ceiling" : "≥ 0.1 × ceiling",
    check(r.batch?.ratioToCeiling, (x) => x >= (pg ? 0.35 : 0.1)),
  ]);
  if (r.peer?.perSec) {
    rows.push([
      `peer: graphile-worker 0.17 sender (${v(r.details?.peer?.deliveries)} queued, deliveries/s)`,
      `${v(r.peer.perSec)}; with its attempt log ${v(r.peer.withLogPerSec)}`,
      "(yardstick)",
      null,
    ]);
  }
  if (r.dispatcher?.perSec) {
    rows.push([
      "dispatcher alone, same queued backlog (deliveries/s)",
      `${v(r.dispatcher.perSec)} (${v(r.peer?.ratioWithLog, "× peer with log")}, ${v(r.peer?.ratio, "× plain peer")})`,
      "≥ 1.0 × peer with its attempt log (PG)",
      pg ? check(r.peer?.ratioWithLog, (x) => x >= 1) : null,
    ]);
    rows.push([
      "dispatcher alone vs the ceiling",
      v(r.dispatcher.ratioToCeiling, "× ceiling"),
      "≥ 0.5 × ceiling (PG)",
      pg ? check(r.dispatcher.ratioToCeiling, (x) => x >= 0.5) : null,
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

export function logCpu(phase: string, unit: string, perUnit: Record<string, number | null>): void {
  const parts = Object.entries(perUnit).map(([k, v]) => `${k} ${v ?? "n/a"}`);
  const known = Object.values(perUnit).filter((v): v is number => v !== null);
  const total = known.reduce((a, b) => a + b, 0);
  console.log(`  ${phase}: CPU µs per ${unit}: ${parts.join(", ")}; total ${total}`);
}

/** The top statements (pg_stat_statements) of a phase, per delivery. */
export function logStatements(phase: string, statements: StatementCost[] | null): void {
  if (!statements) return;
  console.log(`  ${phase}: top statements per delivery (exec µs, calls, WAL bytes):`);
  for (const s of statements) {
    console.log(
      `    ${String(s.execMicrosPerDelivery).padStart(7)} µs ${String(s.callsPerDelivery).padStart(6)} calls ${String(s.walBytesPerDelivery).padStart(6)} B  ${s.query.slice(0, 110)}`,
    );
  }
}
