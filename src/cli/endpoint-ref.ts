import type { Command } from "commander";
import { fail } from "./client.js";

/** How a command names one endpoint: its id, or its uid within a tenant (the API takes either). */
export interface EndpointRefOptions {
  uid?: string;
  tenant?: string;
}

export interface EndpointRef {
  id?: string;
  uid?: string;
  tenantId?: string;
}

/** Adds the `[id]` argument and --uid/--tenant to a command that acts on one endpoint. */
export function endpointRefCommand(cmd: Command): Command {
  return cmd
    .argument("[id]", "the endpoint's id (ep_...); or give --uid")
    .option("--uid <uid>", "the endpoint's uid instead of its id")
    .option("--tenant <id>", "with --uid: the tenant whose uid it is (default: the key's)");
}

/** The id, or the uid and tenant; exactly one way (exit 2 otherwise). */
export function endpointRef(id: string | undefined, opts: EndpointRefOptions): EndpointRef {
  if (id && opts.uid) fail("give the endpoint's id or --uid, not both", 2);
  if (!id && !opts.uid) fail("which endpoint? give its id (ep_...) or --uid <uid> [--tenant <id>]", 2);
  if (id && opts.tenant) fail("--tenant goes with --uid (an id already names one endpoint)", 2);
  return id ? { id } : { uid: opts.uid, tenantId: opts.tenant };
}
