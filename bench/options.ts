/**
 * The command line of `npm run bench` and the sizes of each phase it implies (full or --quick).
 */
import { parseArgs } from "node:util";
import type { Sizes } from "./phases.js";

export const PHASES = [
  "ceiling",
  "throughput",
  "batch",
  "peer",
  "latency",
  "fanout",
  "api",
  "subscriptions",
  "growth",
  "memory",
] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  dbKind: "pglite" | "postgres";
  quick: boolean;
  only: Set<Phase>;
  profile: boolean;
  sizes: Sizes;
}

const QUICK: Sizes = {
  ceilingMs: 2500,
  throughputDeliveries: 3000,
  latencyRate: 500,
  latencyMs: 2500,
  fanoutEndpoints: 250,
  fanoutReps: 3,
  apiMs: 2500,
  listRequests: 200,
  subscribers: 200,
  subscriptionEvents: 5,
  backlog: 50_000,
  backlogSampleMs: 4000,
  oldDeliveries: 0,
  peerDeliveries: 3000,
  peerRounds: 1,
};

const FULL: Sizes = {
  ceilingMs: 10_000,
  throughputDeliveries: 50_000,
  latencyRate: 500,
  latencyMs: 20_000,
  fanoutEndpoints: 1000,
  fanoutReps: 11,
  apiMs: 15_000,
  listRequests: 1000,
  subscribers: 1000,
  subscriptionEvents: 20,
  backlog: 1_000_000,
  backlogSampleMs: 30_000,
  oldDeliveries: 1_000_000,
  peerDeliveries: 20_000,
  peerRounds: 3,
};

/** Parses process.argv; prints usage and exits on --help (0) or bad arguments (2). */
export function parseBenchArgs(): BenchOptions {
  const { values: args } = parseArgs({
    options: {
      db: { type: "string", default: "pglite" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      rate: { type: "string" },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (args.help) {
    console.log(
      `npm run bench -- [--db pglite|postgres] [--quick] [--only ${PHASES.join(",")}] [--rate EVENTS_PER_SEC] [--profile]`,
    );
    process.exit(0);
  }
  if (args.db !== "pglite" && args.db !== "postgres") {
    console.error(`--db must be pglite or postgres (got ${args.db})`);
    process.exit(2);
  }
  const only = new Set<Phase>(
    args.only ? (args.only.split(",").map((s) => s.trim()) as Phase[]) : (PHASES as readonly Phase[]),
  );
  for (const p of only) {
    if (!PHASES.includes(p)) {
      console.error(`--only: unknown phase ${p} (phases: ${PHASES.join(", ")})`);
      process.exit(2);
    }
  }
  const quick = Boolean(args.quick);
  const sizes: Sizes = { ...(quick ? QUICK : FULL) };
  if (args.rate) sizes.latencyRate = Number(args.rate);
  return { dbKind: args.db, quick, only, profile: Boolean(args.profile), sizes };
}
