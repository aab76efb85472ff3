import { readFileSync } from "node:fs";
import { fail } from "./client.js";

/*
 * Parsing of command-line values shared by the command groups. A bad value is one line naming the
 * option and exit code 2 (a usage error, as commander's own), before anything is sent to the server.
 */

/** A file's text, or stdin's for `-`; a missing file is a usage error naming the option. */
export function readText(source: string, option: string): string {
  try {
    return readFileSync(source === "-" ? 0 : source, "utf8");
  } catch (err) {
    fail(`${option}: cannot read ${source === "-" ? "stdin" : source}: ${(err as Error).message}`, 2);
  }
}

/** JSON given as `@file.json`, `-` (stdin) or inline. */
export function readJson(value: string, option: string): unknown {
  const text = value === "-" || value.startsWith("@") ? readText(value.replace(/^@/, ""), option) : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`${option} is not JSON: ${(err as Error).message}`, 2);
  }
}

/** A comma-separated list, trimmed, without empty items. */
export function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A comma-separated list of enum values (case-insensitive), or exit 2 naming the unknown ones. */
export function enumList<T extends string>(value: string, option: string, allowed: readonly T[]): T[] {
  const items = list(value).map((s) => s.toUpperCase());
  const bad = items.filter((s) => !allowed.includes(s as T));
  if (bad.length > 0 || items.length === 0) {
    fail(`${option}: unknown value ${bad.join(", ") || "(empty)"}; expected ${allowed.join(", ")}`, 2);
  }
  return items as T[];
}

/** A whole number within [min, max], or exit 2 naming the option and the range. */
export function integer(value: string, option: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    fail(`${option} must be a whole number from ${min} to ${max}, got "${value}"`, 2);
  }
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time: an ISO 8601 date/time (`2026-12-06`, `2026-12-06T18:00:00Z`), or a duration before
 * now (`90s`, `30m`, `2h`, `7d`). Returned as an ISO string, what the API's DateTime takes.
 */
export function when(value: string, option: string, now = Date.now()): string {
  const rel = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2]!]!).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) {
    fail(
      `${option}: expected an ISO date/time (2026-12-06T18:00:00Z) or a time ago (30m, 2h, 7d), got "${value}"`,
      2,
    );
  }
  return new Date(t).toISOString();
}
