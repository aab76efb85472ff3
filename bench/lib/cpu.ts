/**
 * CPU time per process group, from /proc/<pid>/stat (user + system, which includes the kernel's work for
 * the process's socket writes). On a machine whose cores are all busy, rates say little about where the
 * time goes; CPU microseconds per delivery (or per request) for each process does: it is the budget that
 * the machine's cores divide into the rate.
 *
 * Linux only; elsewhere every reading is null.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  ppid: number;
  ticks: number;
  /** CPU of its children that have exited and been waited for (cutime + cstime). */
  reapedTicks: number;
}

function stat(pid: number): Stat | undefined {
  try {
    // The command name may contain spaces or parentheses: fields start after the last ")".
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(f[1]),
      ticks: Number(f[11]) + Number(f[12]),
      reapedTicks: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return undefined;
  }
}

/** A process and, optionally, all its children (a PostgreSQL postmaster's backends). */
export interface PidGroup {
  pid: number;
  children?: boolean;
}

/**
 * CPU seconds used so far by each group. With children, those still running and those that exited (a
 * PostgreSQL backend whose pooled connection was closed): the parent has waited for them, so their time is in
 * its cutime/cstime.
 */
function sample(groups: Record<string, PidGroup>): Record<string, number> {
  const out: Record<string, number> = {};
  let all: { pid: number; stat: Stat }[] | undefined;
  for (const [name, g] of Object.entries(groups)) {
    const own = stat(g.pid);
    let ticks = own?.ticks ?? Number.NaN;
    if (g.children) {
      ticks += own?.reapedTicks ?? Number.NaN;
      all ??= readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map((d) => ({ pid: Number(d), stat: stat(Number(d)) }))
        .filter((p): p is { pid: number; stat: Stat } => p.stat !== undefined);
      for (const p of all) if (p.stat.ppid === g.pid) ticks += p.stat.ticks;
    }
    out[name] = ticks / clockTicks();
  }
  return out;
}

/** Starts counting; `perUnit(n)` returns CPU µs per unit of work for each group since then. */
export function cpuMeter(groups: Record<string, PidGroup | undefined>) {
  const present = Object.fromEntries(
    Object.entries(groups).filter((e): e is [string, PidGroup] => e[1] !== undefined && e[1].pid > 0),
  );
  const linux = process.platform === "linux";
  const before = linux ? sample(present) : {};
  return {
    perUnit(units: number): Record<string, number | null> {
      if (!linux || units <= 0) return Object.fromEntries(Object.keys(present).map((k) => [k, null]));
      const after = sample(present);
      const out: Record<string, number | null> = {};
      for (const k of Object.keys(present)) {
        const used = after[k]! - before[k]!;
        out[k] = Number.isFinite(used) ? Math.round((used * 1e6) / units) : null;
      }
      return out;
    },
  };
}
