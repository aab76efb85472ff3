import type { Command } from "commander";
import type { HookgateClient } from "../client/index.js";
import {
  type ClientOptions,
  clientCommand,
  fail,
  payload,
  printRecord,
  printRows,
  withClient,
} from "./client.js";
import { readJson } from "./input.js";
import { collect, type ListOptions, listCommand } from "./paging.js";

const COLUMNS = ["id", "name", "description", "deprecated", "tenantId", "createdAt"];
const DETAIL = ["id", "tenantId", "name", "description", "deprecated", "schema", "createdAt", "updatedAt"];
const MAX_PAGE = 100;
/** An event type's id (a name cannot look like one: names have a dot). */
const ID_RE = /^et_[0-9A-Z]{26}$/;

/** The id of the event type named `ref` (an id is returned as it is), looked up page by page. */
async function eventTypeId(client: HookgateClient, ref: string, tenantId?: string): Promise<string> {
  if (ID_RE.test(ref)) return ref;
  let after: string | undefined;
  for (;;) {
    const { eventTypes } = await client.EventTypes({
      first: MAX_PAGE,
      after,
      includeDeprecated: true,
      tenantId,
    });
    const found = eventTypes.edges.find((e) => e.node.name === ref);
    if (found) return found.node.id;
    if (!eventTypes.pageInfo.hasNextPage || !eventTypes.pageInfo.endCursor) {
      fail(`NOT_FOUND: no event type named ${ref}${tenantId ? ` for tenant ${tenantId}` : ""}`);
    }
    after = eventTypes.pageInfo.endCursor;
  }
}

export function registerEventTypes(program: Command): void {
  const types = program
    .command("event-types")
    .description("event types (invoice.paid, ...) of a running Hookgate");

  clientCommand(types.command("create").description("define an event type, optionally with a JSON Schema"))
    .requiredOption("--name <name>", "dot-separated, e.g. invoice.paid")
    .option("--description <text>", "what the event means")
    .option("--schema <json>", "JSON Schema payloads must satisfy: @schema.json, - for stdin, or inline")
    .option("--tenant <id>", "the owning tenant (default: the key's)")
    .action(
      (opts: ClientOptions & { name: string; description?: string; schema?: string; tenant?: string }) => {
        const input = {
          name: opts.name,
          description: opts.description,
          schema: opts.schema === undefined ? undefined : readJson(opts.schema, "--schema"),
          tenantId: opts.tenant,
        };
        return withClient(opts, async (client) => {
          const res = await client.CreateEventType({ input });
          const { eventType } = payload(res.createEventType, "CreateEventTypePayload");
          await printRecord(opts, eventType, DETAIL, eventType);
        });
      },
    );

  listCommand(
    clientCommand(
      types.command("list").description("event types the tenant can use (its own and its ancestors')"),
    ),
  )
    .option("--include-deprecated", "deprecated types too")
    .option("--tenant <id>", "as seen by this tenant (default: the key's)")
    .action((opts: ListOptions & { includeDeprecated?: boolean; tenant?: string }) =>
      withClient(opts, async (client) => {
        const nodes = await collect(opts, "event types", MAX_PAGE, async (first, after) => {
          const vars = { first, after, includeDeprecated: opts.includeDeprecated, tenantId: opts.tenant };
          return (await client.EventTypes(vars)).eventTypes;
        });
        await printRows(opts, nodes, COLUMNS, nodes);
      }),
    );

  clientCommand(
    types
      .command("update")
      .description("change an event type's description, schema or deprecation")
      .argument("<type>", "its id (et_...) or its name"),
  )
    .option("--description <text>", "a new description")
    .option("--schema <json>", "a new JSON Schema (replaces it): @schema.json, - for stdin, or inline")
    .option("--no-schema", "remove the schema (payloads are no longer checked)")
    .option("--deprecate", "mark deprecated (hidden from lists unless asked for)")
    .option("--undeprecate", "no longer deprecated")
    .option("--tenant <id>", "with a name: as seen by this tenant (default: the key's)")
    .action(
      (
        ref: string,
        opts: ClientOptions & {
          description?: string;
          schema?: string | false;
          deprecate?: boolean;
          undeprecate?: boolean;
          tenant?: string;
        },
      ) => {
        if (opts.deprecate && opts.undeprecate) fail("--deprecate or --undeprecate, not both", 2);
        const input = {
          description: opts.description,
          // --no-schema sends null (remove); an absent option sends nothing (keep).
          schema:
            opts.schema === false
              ? null
              : opts.schema === undefined
                ? undefined
                : readJson(opts.schema, "--schema"),
          deprecated: opts.deprecate ? true : opts.undeprecate ? false : undefined,
        };
        if (Object.values(input).every((v) => v === undefined)) {
          fail(
            "nothing to change: pass --description, --schema, --no-schema, --deprecate or --undeprecate",
            2,
          );
        }
        return withClient(opts, async (client) => {
          const id = await eventTypeId(client, ref, opts.tenant);
          const res = await client.UpdateEventType({ id, input });
          const { eventType } = payload(res.updateEventType, "UpdateEventTypePayload");
          await printRecord(opts, eventType, DETAIL, eventType);
        });
      },
    );
}
