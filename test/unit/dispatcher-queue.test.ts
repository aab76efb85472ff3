import { describe, expect, it } from "vitest";
import { claimLimit } from "../../src/dispatcher/queue.js";

describe("claimLimit", () => {
  it("claims the batch size when the budget allows, else the largest power of two within the budget", () => {
    expect(claimLimit(100, 100)).toBe(100);
    expect(claimLimit(500, 100)).toBe(100);
    expect(claimLimit(99, 100)).toBe(64);
    expect(claimLimit(64, 100)).toBe(64);
    expect(claimLimit(5, 100)).toBe(4);
    expect(claimLimit(1, 100)).toBe(1);
    expect(claimLimit(1, 1)).toBe(1);
    expect(claimLimit(7, 3)).toBe(3);
  });

  it("never exceeds the budget and keeps the number of distinct limits (prepared statements) small", () => {
    const seen = new Set<number>();
    for (let budget = 1; budget <= 1000; budget++) {
      const limit = claimLimit(budget, 1000);
      expect(limit).toBeGreaterThanOrEqual(1);
      expect(limit).toBeLessThanOrEqual(budget);
      // Below the batch size it takes more than half the budget.
      if (budget < 1000) expect(limit * 2).toBeGreaterThan(budget);
      seen.add(limit);
    }
    expect(seen.size).toBeLessThanOrEqual(11);
  });
});
