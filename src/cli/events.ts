import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type ClientOptions, clientCommand, fail, payload, printRows, withClient } from "./client.js";

/** `@file.json`, `-` (stdin) or inline JSON. */
function readData(data: string): unknown {
  const text =
    data === "-"
      ? readFileSync(0, "utf8")
      : data.startsWith("@")
        ? readFileSync(data.slice(1), "utf8")
        : data;
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`--data is not JSON: ${(err as Error).message}`, 2);
  }
}

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
              payload: readData(opts.data),
              idempotencyKey: opts.idempotencyKey,
              tenantId: opts.tenant,
            },
          });
          const published = payload(res.publishEvent, "PublishEventPayload") as Extract<
            typeof res.publishEvent,
            { __typename: "PublishEventPayload" }
          >;
          const row = {
            id: published.event.id,
            type: published.event.type,
            deliveries: published.deliveryCount,
          };
          await printRows(opts, [row], ["id", "type", "deliveries"], published);
        }),
    );
}
