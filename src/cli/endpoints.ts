import type { Command } from "commander";
import type { EndpointHeaderInput, EndpointStatus } from "../client/index.js";
import {
  type ClientOptions,
  clientCommand,
  fail,
  payload,
  printRecord,
  printRows,
  withClient,
} from "./client.js";
import { registerEndpointActions } from "./endpoint-actions.js";
import { type EndpointRefOptions, endpointRef, endpointRefCommand } from "./endpoint-ref.js";
import { DETAIL, endpointRecord, printWithSecret } from "./endpoint-view.js";
import { enumList, integer, list } from "./input.js";
import { collect, type ListOptions, listCommand } from "./paging.js";

/** Columns of `endpoints list`; `get` and the mutations show every field (DETAIL). */
const COLUMNS = ["id", "uid", "url", "events", "status", "tenantId"];
const STATUSES: EndpointStatus[] = ["ENABLED", "DISABLED"];
const MAX_PAGE = 100;

function collectHeader(value: string, previous: EndpointHeaderInput[] = []): EndpointHeaderInput[] {
  const colon = value.indexOf(":");
  if (colon <= 0) fail(`--header: expected "Name: value", got "${value}"`, 2);
  return [...previous, { name: value.slice(0, colon).trim(), value: value.slice(colon + 1).trim() }];
}

interface DefinitionOptions {
  newUrl?: string;
  events?: string;
  description?: string;
  header?: EndpointHeaderInput[];
  includeChildTenants?: boolean;
  rateLimit?: string;
}

/** Options shared by create and update (what an endpoint is). */
function definitionOptions(cmd: Command, create: boolean): Command {
  return cmd
    .option("--description <text>", "what the endpoint is for")
    .option("--header <name:value>", "a custom header sent with every delivery (repeatable)", collectHeader)
    .option("--include-child-tenants", "also receive the events of the tenant's sub-tenants")
    .option(
      "--rate-limit <n>",
      create ? "at most n deliveries per second (1-10000)" : "at most n deliveries per second, or none",
    );
}

/** The input fields the options set; absent options are left out (update keeps them). */
function definition(opts: DefinitionOptions, clearHeaders = false) {
  const rate =
    opts.rateLimit === undefined
      ? undefined
      : opts.rateLimit === "none"
        ? null
        : integer(opts.rateLimit, "--rate-limit", 0, Number.MAX_SAFE_INTEGER);
  return {
    url: opts.newUrl,
    events: opts.events === undefined ? undefined : list(opts.events),
    description: opts.description,
    headers: clearHeaders ? [] : opts.header,
    includeChildTenants: opts.includeChildTenants,
    rateLimitPerSecond: rate,
  };
}

export function registerEndpoints(program: Command): void {
  const endpoints = program.command("endpoints").description("webhook endpoints of a running Hookgate");

  definitionOptions(
    clientCommand(
      endpoints
        .command("create")
        .description("register an endpoint (prints its signing secret once)")
        // Not --url: that is the server's address on every client command.
        .argument("<url>", "where deliveries are POSTed (https://...)"),
    ),
    true,
  )
    .requiredOption("--events <list>", "comma-separated event types, * or prefix.*")
    .option("--secret <secret>", "the signing secret (16-256 characters or whsec_...; default: generated)")
    .option("--uid <uid>", "your own unique key for it within the tenant")
    .option("--upsert", "with --uid: replace the endpoint with that uid if there is one (upsertEndpoint)")
    .option("--tenant <id>", "the tenant it belongs to (default: the key's)")
    .action(
      (
        url: string,
        opts: ClientOptions &
          DefinitionOptions & { secret?: string; uid?: string; upsert?: boolean; tenant?: string },
      ) => {
        if (opts.upsert && !opts.uid) fail("--upsert needs --uid (the endpoint to create or replace)", 2);
        const input = {
          ...definition(opts),
          url,
          events: list(opts.events!),
          secret: opts.secret,
          uid: opts.uid,
          tenantId: opts.tenant,
        };
        return withClient(opts, async (client) => {
          if (opts.upsert) {
            const res = await client.UpsertEndpoint({ uid: opts.uid!, input });
            const done = payload(res.upsertEndpoint, "UpsertEndpointPayload");
            if (done.secret)
              await printWithSecret(opts, done.endpoint, done.secret, { created: done.created });
            else await printRecord(opts, endpointRecord(done.endpoint), DETAIL, done);
            return;
          }
          const res = await client.CreateEndpoint({ input });
          const done = payload(res.createEndpoint, "CreateEndpointPayload");
          await printWithSecret(opts, done.endpoint, done.secret);
        });
      },
    );

  listCommand(
    clientCommand(
      endpoints.command("list").description("endpoints of the key's tenant and below, oldest first"),
    ),
  )
    .option("--tenant <id>", "only this tenant's endpoints")
    .option("--event-type <name>", "only endpoints that would receive this event type")
    .option("--status <status>", `${STATUSES.join(" or ")}`)
    .option("--uid <uid>", "only the endpoint with this uid")
    .option("--include-deleted", "deleted endpoints too")
    .action(
      (
        opts: ListOptions & {
          tenant?: string;
          eventType?: string;
          status?: string;
          uid?: string;
          includeDeleted?: boolean;
        },
      ) => {
        const status = opts.status ? enumList(opts.status, "--status", STATUSES) : undefined;
        if (status && status.length > 1) fail("--status takes one value: ENABLED or DISABLED", 2);
        const filter = {
          tenantId: opts.tenant,
          eventType: opts.eventType,
          status: status?.[0],
          uid: opts.uid,
          includeDeleted: opts.includeDeleted,
        };
        return withClient(opts, async (client) => {
          const nodes = await collect(opts, "endpoints", MAX_PAGE, async (first, after) => {
            return (await client.Endpoints({ first, after, filter })).endpoints;
          });
          await printRows(opts, nodes.map(endpointRecord), COLUMNS, nodes);
        });
      },
    );

  endpointRefCommand(clientCommand(endpoints.command("get").description("one endpoint, every field"))).action(
    (id: string | undefined, opts: ClientOptions & EndpointRefOptions) => {
      const ref = endpointRef(id, opts);
      return withClient(opts, async (client) => {
        const { endpoint } = await client.Endpoint(ref);
        if (!endpoint) fail(`NOT_FOUND: endpoint ${ref.id ?? ref.uid} not found`);
        await printRecord(opts, endpointRecord(endpoint), DETAIL, endpoint);
      });
    },
  );

  definitionOptions(
    endpointRefCommand(
      clientCommand(
        endpoints.command("update").description("change an endpoint (only what the options name)"),
      ),
    ),
    false,
  )
    .option("--new-url <url>", "where deliveries go from now on")
    .option("--events <list>", "comma-separated event types, * or prefix.* (replaces the list)")
    .option("--no-include-child-tenants", "stop receiving the sub-tenants' events")
    .option("--clear-headers", "remove every custom header (--header replaces the whole list)")
    .option("--enable", "resume deliveries (resets the failure clock)")
    .option("--disable", "stop deliveries (reason MANUAL)")
    .action(
      (
        id: string | undefined,
        opts: ClientOptions &
          EndpointRefOptions &
          DefinitionOptions & { clearHeaders?: boolean; enable?: boolean; disable?: boolean },
      ) => {
        const ref = endpointRef(id, opts);
        if (opts.enable && opts.disable) fail("--enable or --disable, not both", 2);
        if (opts.clearHeaders && opts.header) fail("--clear-headers or --header, not both", 2);
        const input = {
          ...definition(opts, opts.clearHeaders),
          status: opts.enable ? ("ENABLED" as const) : opts.disable ? ("DISABLED" as const) : undefined,
        };
        if (Object.values(input).every((v) => v === undefined)) {
          fail(
            "nothing to change: pass --new-url, --events, --description, --header, --enable, --disable, ...",
            2,
          );
        }
        return withClient(opts, async (client) => {
          const res = await client.UpdateEndpoint({ ...ref, input });
          const { endpoint } = payload(res.updateEndpoint, "UpdateEndpointPayload");
          await printRecord(opts, endpointRecord(endpoint), DETAIL, endpoint);
        });
      },
    );

  endpointRefCommand(
    clientCommand(
      endpoints
        .command("delete")
        .description("delete an endpoint: no new deliveries; it and its history stay readable by id"),
    ),
  ).action((id: string | undefined, opts: ClientOptions & EndpointRefOptions) => {
    const ref = endpointRef(id, opts);
    return withClient(opts, async (client) => {
      const res = await client.DeleteEndpoint(ref);
      const { endpoint } = payload(res.deleteEndpoint, "DeleteEndpointPayload");
      await printRows(opts, [endpoint], ["id", "uid", "url", "deletedAt"], endpoint);
    });
  });

  registerEndpointActions(endpoints);
}
