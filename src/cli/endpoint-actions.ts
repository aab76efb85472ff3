import type { Command } from "commander";
import { type ClientOptions, clientCommand, fail, payload, printRows, withClient } from "./client.js";
import { type EndpointRefOptions, endpointRef, endpointRefCommand } from "./endpoint-ref.js";
import { printWithSecret } from "./endpoint-view.js";

const DELIVERY_COLUMNS = ["id", "status", "eventType", "endpointId", "eventId", "createdAt"];
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `--grace`: seconds, or a duration such as 90s, 30m, 24h, 7d (the API checks the range). */
function graceSeconds(value: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(value.trim());
  if (!m) fail(`--grace: expected seconds or a duration such as 30m, 24h, 7d, got "${value}"`, 2);
  return Number(m[1]) * SECONDS[m[2] ?? "s"]!;
}

/** What is done to an endpoint rather than to its definition: rotating its secret, a test delivery. */
export function registerEndpointActions(endpoints: Command): void {
  endpointRefCommand(
    clientCommand(
      endpoints
        .command("rotate-secret")
        .description("new signing secret, printed once; the previous one keeps signing for the grace period"),
    ),
  )
    .option("--secret <secret>", "the new secret (default: generated)")
    .option("--grace <duration>", "how long the previous secret keeps signing, e.g. 0, 1h, 7d (default 24h)")
    .action(
      (
        id: string | undefined,
        opts: ClientOptions & EndpointRefOptions & { secret?: string; grace?: string },
      ) => {
        const ref = endpointRef(id, opts);
        const input = {
          secret: opts.secret,
          gracePeriodSeconds: opts.grace === undefined ? undefined : graceSeconds(opts.grace),
        };
        return withClient(opts, async (client) => {
          const res = await client.RotateEndpointSecret({ ...ref, input });
          const { endpoint, secret } = payload(res.rotateEndpointSecret, "RotateEndpointSecretPayload");
          await printWithSecret(opts, endpoint, secret);
        });
      },
    );

  endpointRefCommand(
    clientCommand(
      endpoints
        .command("test")
        .description("send a test event of a type to this endpoint only, now (whatever its filter)"),
    ),
  )
    .requiredOption("--event-type <name>", "the event type of the test event")
    .action((id: string | undefined, opts: ClientOptions & EndpointRefOptions & { eventType: string }) => {
      const ref = endpointRef(id, opts);
      return withClient(opts, async (client) => {
        const res = await client.TestEndpoint({ ...ref, eventType: opts.eventType });
        const { delivery } = payload(res.testEndpoint, "TestEndpointPayload");
        await printRows(opts, [delivery], DELIVERY_COLUMNS, delivery);
      });
    });
}
