import type { Command } from "commander";
import type { DeliveryStatus } from "../client/index.js";
import { type ClientOptions, clientCommand, withClient } from "./client.js";
import { DELIVERY_STATUSES } from "./delivery-filters.js";
import { enumList } from "./input.js";

export function registerTail(program: Command): void {
  clientCommand(
    program
      .command("tail")
      .description("stream delivery updates live (deliveryUpdated), one line each, until Ctrl-C"),
  )
    .option("--endpoint <id>", "only this endpoint's deliveries")
    .option("--event-type <name>", "only this event type")
    .option("--status <list>", `comma-separated: ${DELIVERY_STATUSES.join(", ")}`)
    .action((opts: ClientOptions & { endpoint?: string; eventType?: string; status?: string }) => {
      const status =
        opts.status === undefined
          ? undefined
          : enumList<DeliveryStatus>(opts.status, "--status", DELIVERY_STATUSES);
      return withClient(opts, async (client) => {
        const { default: pc } = await import("picocolors");
        const colour: Record<string, (s: string) => string> = {
          SUCCEEDED: pc.green,
          FAILED: pc.red,
          RETRYING: pc.yellow,
          CANCELLED: pc.gray,
          SENDING: pc.cyan,
          PENDING: pc.blue,
        };
        const stop = new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        const updates = client
          .deliveryUpdated({
            endpointId: opts.endpoint,
            eventType: opts.eventType,
            status,
          })
          [Symbol.asyncIterator]();
        if (!opts.json) process.stderr.write("tailing deliveries (Ctrl-C to stop)\n");
        for (;;) {
          const next = await Promise.race([updates.next(), stop.then(() => null)]);
          if (!next || next.done) break;
          const { delivery: d, attempt: a } = next.value;
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(next.value)}\n`);
            continue;
          }
          const paint = colour[d.status] ?? ((s: string) => s);
          const http = a
            ? ` #${a.attemptNumber} ${a.responseCode ?? a.errorMessage ?? ""} ${a.durationMs ?? ""}ms`
            : "";
          process.stdout.write(
            `${new Date(d.updatedAt).toISOString()} ${paint(d.status.padEnd(9))} ${d.id} ${d.eventType} -> ${d.endpointId}${http}\n`,
          );
        }
      });
    });
}
