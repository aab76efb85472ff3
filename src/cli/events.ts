import type { Command } from "commander";
import { type ClientOptions, clientCommand, payload, printRows, withClient } from "./client.js";
import { LOG_PAGE } from "./deliveries.js";
import { readJson, when } from "./input.js";
import { collect, type ListOptions, listCommand } from "./paging.js";

export function registerEvents(program: Command): void {
  const events = program.command("events").description("events of a running Hookgate");
  clientCommand(events.command("publish").description("publish an event to every matching endpoint"))
    .requiredOption("--type <name>", "event type, e.g. invoice.paid")
    .requiredOption("--data <json>", "the payload: @file.json, - for stdin, or inline JSON")
    .option("--idempotency-key <key>", "the same key within a tenant publishes once")
    .option("--tenant <id>", "publish for this tenant (default: the key's)")
    .action(
      (opts: ClientOptions & { type: string; data: string; idempotencyKey?: string; tenant?: string }) =>
        withClient(opts, async (client) => {
          const res = await client.PublishEvent({
            input: {
              type: opts.type,
              payload: readJson(opts.data, "--data"),
              idempotencyKey: opts.idempotencyKey,
              tenantId: opts.tenant,
            },
          });
          const published = payload(res.publishEvent, "PublishEventPayload");
          const row = {
            id: published.event.id,
            type: published.event.type,
            deliveries: published.deliveryCount,
          };
          await printRows(opts, [row], ["id", "type", "deliveries"], published);
        }),
    );

  listCommand(clientCommand(events.command("list").description("published events, newest first")))
    .option("--type <name>", "only this event type (exact name)")
    .option("--tenant <id>", "only this tenant's (default: the key's tenant and all below it)")
    .option("--since <time>", "created at or after: ISO time (2026-12-06T18:00:00Z) or ago (30m, 2h, 7d)")
    .option("--until <time>", "created before: ISO time or ago")
    .option("--idempotency-key <key>", "only the event published with this key")
    .option("--test", "only test events (endpoints test)")
    .option("--no-test", "only real events")
    .action(
      (
        opts: ListOptions & {
          type?: string;
          tenant?: string;
          since?: string;
          until?: string;
          idempotencyKey?: string;
          test?: boolean;
        },
      ) => {
        const now = Date.now();
        const filter = {
          type: opts.type,
          tenantId: opts.tenant,
          since: opts.since === undefined ? undefined : when(opts.since, "--since", now),
          until: opts.until === undefined ? undefined : when(opts.until, "--until", now),
          idempotencyKey: opts.idempotencyKey,
          test: opts.test,
        };
        return withClient(opts, async (client) => {
          const nodes = await collect(opts, "events", LOG_PAGE, async (first, after) => {
            return (await client.Events({ first, after, filter })).events;
          });
          await printRows(
            opts,
            nodes,
            ["id", "type", "tenantId", "test", "idempotencyKey", "createdAt"],
            nodes,
          );
        });
      },
    );
}
