import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulidx";

/**
 * Prefixed, time-ordered ids (`ep_01J...`): the prefix says what kind of object an id names,
 * so one can't be passed for another by accident, and ordering by id is ordering by creation
 * (cursor pagination relies on it).
 */
export const ID_PREFIX = {
  tenant: "ten",
  apiKey: "key",
  eventType: "et",
  endpoint: "ep",
  secret: "sec",
  event: "evt",
  delivery: "dlv",
  attempt: "att",
} as const;

export type IdKind = keyof typeof ID_PREFIX;

// ulidx asks its PRNG for one value per random character (16 per id), and its default PRNG makes a
// crypto call for each: measurable on the dispatcher's hot path (one attempt id per delivery) and in
// fan-out. Same source (the OS CSPRNG), drawn 4 KB at a time. A byte / 256 is uniform in [0, 1), so
// floor(x * 32) takes its top 5 bits: every character equally likely.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function pooledRandom(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++] / 256;
}

const ulid = monotonicFactory(pooledRandom);

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${ulid()}`;
}

/** True when `id` has the prefix of `kind` (a wrong-kind id is simply not found). */
export function hasPrefix(id: string, kind: IdKind): boolean {
  return id.startsWith(`${ID_PREFIX[kind]}_`);
}
