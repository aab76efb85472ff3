import { describe, expect, it } from "vitest";
import { nextRetryDelay, parseRetryAfter } from "../../src/dispatcher/retry.js";

const policy = { retryScheduleMs: [5_000, 300_000, 1_800_000], retryJitter: 0.2, retryAfterMaxMs: 3_600_000 };

describe("nextRetryDelay", () => {
  it("follows the schedule: attempt n failed -> schedule[n-1], then null (FAILED) after the last", () => {
    const p = { ...policy, retryJitter: 0 };
    expect(nextRetryDelay(p, { attemptNumber: 1 })).toBe(5_000);
    expect(nextRetryDelay(p, { attemptNumber: 2 })).toBe(300_000);
    expect(nextRetryDelay(p, { attemptNumber: 3 })).toBe(1_800_000);
    expect(nextRetryDelay(p, { attemptNumber: 4 })).toBeNull();
    expect(nextRetryDelay(p, { attemptNumber: 40 })).toBeNull();
  });

  it("an empty schedule means one attempt only", () => {
    expect(nextRetryDelay({ ...policy, retryScheduleMs: [] }, { attemptNumber: 1 })).toBeNull();
  });

  it("refuses attempt numbers below 1", () => {
    expect(() => nextRetryDelay(policy, { attemptNumber: 0 })).toThrow(RangeError);
    expect(() => nextRetryDelay(policy, { attemptNumber: 1.5 })).toThrow(RangeError);
  });

  it("keeps jitter within ±retryJitter, reaching both ends", () => {
    expect(nextRetryDelay(policy, { attemptNumber: 1, random: () => 0 })).toBe(4_000);
    expect(nextRetryDelay(policy, { attemptNumber: 1, random: () => 0.5 })).toBe(5_000);
    expect(nextRetryDelay(policy, { attemptNumber: 1, random: () => 0.999999 })).toBe(6_000);
    for (let i = 0; i < 1000; i++) {
      const d = nextRetryDelay(policy, { attemptNumber: 2 })!;
      expect(d).toBeGreaterThanOrEqual(240_000);
      expect(d).toBeLessThanOrEqual(360_000);
    }
  });

  it("Retry-After lengthens the wait but never shortens it", () => {
    const p = { ...policy, retryJitter: 0 };
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: 60_000 })).toBe(60_000);
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: 1_000 })).toBe(5_000);
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: 0 })).toBe(5_000);
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: null })).toBe(5_000);
  });

  it("bounds Retry-After by retryAfterMaxMs, at and past the edge", () => {
    const p = { ...policy, retryJitter: 0, retryAfterMaxMs: 120_000 };
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: 120_000 })).toBe(120_000);
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: 120_001 })).toBe(120_000);
    expect(nextRetryDelay(p, { attemptNumber: 1, retryAfterMs: 10 * 24 * 3600_000 })).toBe(120_000);
    // The schedule itself may be longer than the bound: the schedule wins.
    expect(nextRetryDelay(p, { attemptNumber: 3, retryAfterMs: 10 * 24 * 3600_000 })).toBe(1_800_000);
  });

  it("does not extend an exhausted schedule, whatever Retry-After says", () => {
    expect(nextRetryDelay(policy, { attemptNumber: 4, retryAfterMs: 1_000 })).toBeNull();
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("parses delay-seconds", () => {
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 7 ", now)).toBe(7_000);
    expect(parseRetryAfter(["30", "60"], now)).toBe(30_000);
  });

  it("parses the three HTTP-date forms, relative to now, and clamps the past to 0", () => {
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:01:30 GMT", now)).toBe(90_000);
    expect(parseRetryAfter("Wednesday, 01-Jan-25 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Wed Jan  1 00:00:05 2025", now)).not.toBeNull();
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:00:00 GMT", now)).toBe(0);
  });

  it("ignores garbage, negatives and fractions", () => {
    for (const v of ["", "  ", "soon", "-5", "1.5", "1e3", "0x10", "Mon", undefined, null]) {
      expect(parseRetryAfter(v as string, now)).toBeNull();
    }
  });

  it("turns absurd numbers into something the bound can clamp", () => {
    const v = parseRetryAfter("99999999999999999999", now)!;
    expect(v).toBeGreaterThan(24 * 3600_000);
  });
});
