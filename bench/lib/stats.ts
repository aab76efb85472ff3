/** Nearest-rank percentile of unsorted samples (NaN when empty). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(samples: number[]): number {
  return percentile(samples, 50);
}

export function round(n: number | null | undefined, digits = 1): number | null {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `worker(i)` for i = 0..count-1 with at most `concurrency` in flight; stops early after deadline.
 * Returns how many ran.
 */
export async function pooled(
  count: number,
  concurrency: number,
  worker: (i: number) => Promise<void>,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      await worker(i);
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return done;
}
