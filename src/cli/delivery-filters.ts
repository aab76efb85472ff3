import type { Command } from "commander";
import { enumList, when } from "./input.js";

/*
 * The filter options of `deliveries list` and `attempts list`, mapped onto DeliveryFilter/AttemptFilter
 * (the same fields: endpoint by id or uid, event type, status, tenant, time window).
 */

export const DELIVERY_STATUSES = [
  "PENDING",
  "SENDING",
  "SUCCEEDED",
  "RETRYING",
  "FAILED",
  "CANCELLED",
] as const;
export const ATTEMPT_STATUSES = ["SUCCEEDED", "FAILED"] as const;

export interface FilterOptions {
  endpoint?: string;
  uid?: string;
  tenant?: string;
  eventType?: string;
  status?: string;
  since?: string;
  until?: string;
}

/** Adds the shared filter options; `statuses` lists what --status accepts. */
export function filterOptions(cmd: Command, statuses: readonly string[]): Command {
  return cmd
    .option("--endpoint <id>", "only this endpoint's (ep_...)")
    .option("--uid <uid>", "only the endpoint with this uid (in --tenant, default the key's)")
    .option("--tenant <id>", "only this tenant's (default: the key's tenant and all below it)")
    .option("--event-type <name>", "only this event type (exact name)")
    .option("--status <list>", `comma-separated: ${statuses.join(", ")}`)
    .option("--since <time>", "created at or after: ISO time (2026-12-06T18:00:00Z) or ago (30m, 2h, 7d)")
    .option("--until <time>", "created before: ISO time or ago");
}

/** The filter input; every value checked here first (bad ones exit 2 naming the option). */
export function filterInput<S extends string>(opts: FilterOptions, statuses: readonly S[]) {
  const now = Date.now();
  return {
    endpointId: opts.endpoint,
    endpointUid: opts.uid,
    tenantId: opts.tenant,
    eventType: opts.eventType,
    status: opts.status === undefined ? undefined : enumList(opts.status, "--status", statuses),
    since: opts.since === undefined ? undefined : when(opts.since, "--since", now),
    until: opts.until === undefined ? undefined : when(opts.until, "--until", now),
  };
}
