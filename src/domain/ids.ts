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

const ulid = monotonicFactory();

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${ulid()}`;
}

/** True when `id` has the prefix of `kind` (a wrong-kind id is simply not found). */
export function hasPrefix(id: string, kind: IdKind): boolean {
  return id.startsWith(`${ID_PREFIX[kind]}_`);
}
