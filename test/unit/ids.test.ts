import { describe, expect, it } from "vitest";
import { hasPrefix, newId } from "../../src/domain/ids.js";

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe("newId", () => {
  it("is the kind's prefix and a ULID", () => {
    const id = newId("attempt");
    expect(hasPrefix(id, "attempt")).toBe(true);
    expect(id.slice(4)).toMatch(CROCKFORD);
  });

  it("is unique and strictly increasing, also many per millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => newId("delivery"));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
  });

  it("draws the random part evenly over the alphabet", () => {
    // First random character of ids from different milliseconds: 32 values, each ~1/32.
    const counts = new Map<string, number>();
    let last = "";
    let n = 0;
    // One sample per millisecond: 1,000 samples take a second; the bound only stops a runaway loop.
    const until = Date.now() + 20_000;
    while (n < 1000 && Date.now() < until) {
      const id = newId("event").slice(4);
      if (id.slice(0, 10) === last) continue; // same ms: the random part is the previous one + 1
      last = id.slice(0, 10);
      counts.set(id[10], (counts.get(id[10]) ?? 0) + 1);
      n++;
    }
    expect(n).toBe(1000);
    // P(a value never drawn in 1,000 fair draws) = 32 × (31/32)^1000 ≈ 6e-13.
    expect(counts.size).toBe(32);
    for (const c of counts.values()) expect(c).toBeLessThan((n / 32) * 3);
  });
});
