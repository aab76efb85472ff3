import { describe, expect, it } from "vitest";
import { claimLimit } from "../../src/dispatcher/queue.js";

describe("claimLimit", () => {
  it("claims the batch size when the budget allows, else a multiple of an eighth of it, else a power of two", () => {
    expect(claimLimit(100, 100)).toBe(100);
    expect(claimLimit(500, 100)).toBe(100);
    expect(claimLimit(99, 100)).toBe(91);
    expect(claimLimit(64, 100)).toBe(52);
    expect(claimLimit(13, 100)).toBe(13);
    expect(claimLimit(12, 100)).toBe(8);
    expect(claimLimit(5, 100)).toBe(4);
    expect(claimLimit(1, 100)).toBe(1);
    expect(claimLimit(1, 1)).toBe(1);
    expect(claimLimit(7, 3)).toBe(3);
    expect(claimLimit(2, 3)).toBe(2);
  });

  it("takes the budget as it is when asked to (PGlite)", () => {
    expect(claimLimit(99, 100, true)).toBe(99);
    expect(claimLimit(3, 100, true)).toBe(3);
    expect(claimLimit(300, 100, true)).toBe(100);
  });

  it("never exceeds the budget and keeps the number of distinct limits (prepared statements) small", () => {
    const seen = new Set<number>();
    for (let budget = 1; budget <= 1000; budget++) {
      const limit = claimLimit(budget, 1000);
      expect(limit).toBeGreaterThanOrEqual(1);
      expect(limit).toBeLessThanOrEqual(budget);
      // Below the batch size it takes all but an eighth of the batch, or more than half the budget.
      if (budget < 1000) expect(limit > budget - 125 || limit * 2 > budget).toBe(true);
      seen.add(limit);
    }
    expect(seen.size).toBeLessThanOrEqual(16);
  });
});
