/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --profile`): self time per function and per
 * package/source area, so a hot path shows up without a GUI.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 30] [--from MS --to MS]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SummaryOptions {
  top?: number;
  /** Only samples in this window, in ms since the profile started (≈ since the process was spawned). */
  fromMs?: number;
  toMs?: number;
  label?: string;
}

export function summarise(file: string, opts: SummaryOptions = {}): string {
  const top = opts.top ?? 30;
  const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const from = (opts.fromMs ?? 0) * 1000;
  const to = (opts.toMs ?? Number.POSITIVE_INFINITY) * 1000;
  let t = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const url = n.callFrame.url.replace(/^file:\/\//, "");
    const name = `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(url)}:${n.callFrame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const a = areaOf(url, n.callFrame.functionName);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const window =
    opts.fromMs !== undefined
      ? ` [${opts.label ?? "window"}: ${(from / 1e6).toFixed(1)}–${(to / 1e6).toFixed(1)} s]`
      : " [whole run]";
  const lines = [
    `${file.split("/").slice(-2).join("/")}${window}: ${(total / 1e6).toFixed(1)} s sampled`,
    "",
    "by area:",
  ];
  for (const [a, us] of [...area].sort((x, y) => y[1] - x[1]).slice(0, 15)) lines.push(`  ${pct(us)}  ${a}`);
  lines.push("", "by function (self time):");
  for (const [f, us] of [...fn].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${f}`);
  return lines.join("\n");
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf("node_modules/");
  if (i >= 0) return url.slice(i + "node_modules/".length);
  // Hookgate's own code: src/ (tsx) or its compiled twin dist/, both reported as src/.
  const j = url.search(/\/(src|dist)\//);
  if (j >= 0) return `src/${url.slice(url.indexOf("/", j + 1) + 1)}`;
  return url || "(native)";
}

function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "(native/V8 builtins)";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const s = /\/(?:src|dist)\/([^/]+)/.exec(url);
  if (s) return `src/${s[1]}`;
  if (url.startsWith("node:")) return url;
  return url;
}

if (process.argv[1]?.endsWith("profile-summary.ts")) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top N]");
    process.exit(2);
  }
  const t = process.argv.indexOf("--top");
  const f = process.argv.indexOf("--from");
  const e = process.argv.indexOf("--to");
  console.log(
    summarise(file, {
      top: t > 0 ? Number(process.argv[t + 1]) : 30,
      fromMs: f > 0 ? Number(process.argv[f + 1]) : undefined,
      toMs: e > 0 ? Number(process.argv[e + 1]) : undefined,
    }),
  );
}
