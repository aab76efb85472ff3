import type { Command } from "commander";
import type { AttemptStatus, DeliveryStatus } from "../client/index.js";
import {
  type ClientOptions,
  clientCommand,
  fail,
  payload,
  printRecord,
  printRows,
  withClient,
} from "./client.js";
import {
  ATTEMPT_STATUSES,
  DELIVERY_STATUSES,
  type FilterOptions,
  filterInput,
  filterOptions,
} from "./delivery-filters.js";
import { registerRecover } from "./delivery-recover.js";
import { integer } from "./input.js";
import { collect, type ListOptions, listCommand } from "./paging.js";

const COLUMNS = ["id", "status", "eventType", "endpointId", "attemptCount", "nextAttemptAt", "createdAt"];
const DETAIL = [
  "id",
  "tenantId",
  "status",
  "eventType",
  "eventId",
  "endpointId",
  "attemptCount",
  "lastAttemptAt",
  "nextAttemptAt",
  "createdAt",
  "updatedAt",
];
const ATTEMPT_COLUMNS = [
  "id",
  "attemptNumber",
  "status",
  "responseCode",
  "durationMs",
  "trigger",
  "errorMessage",
  "createdAt",
];
/** The API's page maximum for the delivery log (deliveries, attempts, events). */
export const LOG_PAGE = 500;

export function registerDeliveries(program: Command): void {
  const deliveries = program.command("deliveries").description("deliveries (one per event and endpoint)");

  filterOptions(
    listCommand(clientCommand(deliveries.command("list").description("deliveries, newest first"))),
    DELIVERY_STATUSES,
  )
    .option("--event <id>", "only this event's deliveries (evt_...)")
    .action((opts: ListOptions & FilterOptions & { event?: string }) => {
      const filter = {
        ...filterInput<DeliveryStatus>(opts, DELIVERY_STATUSES),
        eventId: opts.event,
      };
      return withClient(opts, async (client) => {
        const nodes = await collect(opts, "deliveries", LOG_PAGE, async (first, after) => {
          return (await client.Deliveries({ first, after, filter })).deliveries;
        });
        await printRows(opts, nodes, COLUMNS, nodes);
      });
    });

  clientCommand(
    deliveries
      .command("get")
      .description("one delivery and its attempts (newest first)")
      .argument("<id>", "the delivery's id (dlv_...)"),
  )
    .option("--attempts <n>", "how many attempts to show (at most 500)", "20")
    .action((id: string, opts: ClientOptions & { attempts: string }) => {
      const attempts = integer(opts.attempts, "--attempts", 0, LOG_PAGE);
      return withClient(opts, async (client) => {
        const { delivery } = await client.Delivery({ id, attempts });
        if (!delivery) fail(`NOT_FOUND: delivery ${id} not found`);
        const rows = delivery.attempts.edges.map((e) => e.node);
        if (opts.json) {
          const { attempts: page, ...rest } = delivery;
          await printRecord(opts, rest, DETAIL, { ...rest, attempts: rows, attemptTotal: page.totalCount });
          return;
        }
        await printRecord(opts, delivery, DETAIL);
        if (rows.length > 0) await printRows(opts, rows, ATTEMPT_COLUMNS);
        if (delivery.attempts.totalCount > rows.length) {
          process.stderr.write(
            `showing ${rows.length} of ${delivery.attempts.totalCount} attempts (--attempts <n>)\n`,
          );
        }
      });
    });

  clientCommand(
    deliveries
      .command("replay")
      .description("one more attempt now (after a fix on the receiver's side, say)")
      .argument("<id>", "the delivery's id (dlv_...)"),
  )
    // Not --url: that is the server's address on every client command.
    .option("--to <url>", "send this attempt to another url (checked like endpoint urls)")
    .action((id: string, opts: ClientOptions & { to?: string }) =>
      withClient(opts, async (client) => {
        const res = await client.ReplayDelivery({ id, url: opts.to });
        const { delivery } = payload(res.replayDelivery, "ReplayDeliveryPayload");
        await printRows(opts, [delivery], COLUMNS, delivery);
      }),
    );

  registerRecover(deliveries);
}

export function registerAttempts(program: Command): void {
  const attempts = program.command("attempts").description("HTTP attempts of deliveries");
  filterOptions(
    listCommand(clientCommand(attempts.command("list").description("attempts, newest first"))),
    ATTEMPT_STATUSES,
  )
    .option("--delivery <id>", "only this delivery's attempts (dlv_...)")
    .action((opts: ListOptions & FilterOptions & { delivery?: string }) => {
      const filter = { ...filterInput<AttemptStatus>(opts, ATTEMPT_STATUSES), deliveryId: opts.delivery };
      return withClient(opts, async (client) => {
        const nodes = await collect(opts, "attempts", LOG_PAGE, async (first, after) => {
          return (await client.Attempts({ first, after, filter })).attempts;
        });
        await printRows(opts, nodes, ["deliveryId", ...ATTEMPT_COLUMNS], nodes);
      });
    });
}
