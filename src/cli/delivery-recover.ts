import type { Command } from "commander";
import type { HookgateClient } from "../client/index.js";
import { type ClientOptions, clientCommand, fail, payload, printRows, withClient } from "./client.js";
import {
  type EndpointRef,
  type EndpointRefOptions,
  endpointRef,
  endpointRefCommand,
} from "./endpoint-ref.js";
import { when } from "./input.js";
import { progress } from "./paging.js";

interface RecoverOptions extends ClientOptions, EndpointRefOptions {
  since: string;
  until?: string;
  allEndpoints?: boolean;
}

interface Recovered {
  endpointId: string;
  url?: string;
  count: number | null;
  error?: string;
}

const ENDPOINT_PAGE = 100;

/** Every enabled endpoint of the key's subtree (or of --tenant), page by page. */
async function* enabledEndpoints(client: HookgateClient, tenantId: string | undefined) {
  let after: string | undefined;
  for (;;) {
    const { endpoints } = await client.Endpoints({
      first: ENDPOINT_PAGE,
      after,
      filter: { status: "ENABLED", tenantId },
    });
    yield { total: endpoints.totalCount, nodes: endpoints.edges.map((e) => e.node) };
    if (!endpoints.pageInfo.hasNextPage || !endpoints.pageInfo.endCursor) return;
    after = endpoints.pageInfo.endCursor;
  }
}

async function recoverOne(
  client: HookgateClient,
  ref: EndpointRef,
  since: string,
  until: string | undefined,
): Promise<{ count: number } | { error: string }> {
  const res = await client.RecoverEndpoint({ ...ref, since, until });
  const r = res.recoverEndpoint;
  if (r.__typename === "RecoverEndpointPayload") return { count: r.count };
  const fields = "fieldErrors" in r ? r.fieldErrors.map((f) => `${f.path}: ${f.message}`).join("; ") : "";
  return { error: `${r.code}: ${fields || r.message}` };
}

/** `deliveries recover`: one endpoint, or every enabled one with --all-endpoints (with progress). */
export function registerRecover(deliveries: Command): void {
  endpointRefCommand(
    clientCommand(
      deliveries
        .command("recover")
        .description(
          "re-queue an endpoint's FAILED and CANCELLED deliveries of a time window (at most 30 days)",
        ),
    ),
  )
    .requiredOption("--since <time>", "from: ISO time (2026-12-06T18:00:00Z) or ago (30m, 2h, 7d)")
    .option("--until <time>", "to, exclusive (default: now)")
    .option("--all-endpoints", "every enabled endpoint of the key's tenant and below (or of --tenant)")
    .action((id: string | undefined, opts: RecoverOptions) => {
      const now = Date.now();
      const since = when(opts.since, "--since", now);
      const until = opts.until === undefined ? undefined : when(opts.until, "--until", now);
      if (opts.allEndpoints) {
        if (id || opts.uid) fail("--all-endpoints or one endpoint (an id or --uid), not both", 2);
        return withClient(opts, (client) => recoverAll(client, opts, since, until));
      }
      const ref = endpointRef(id, opts);
      return withClient(opts, async (client) => {
        const res = await client.RecoverEndpoint({ ...ref, since, until });
        const { count } = payload(res.recoverEndpoint, "RecoverEndpointPayload");
        await printRows(opts, [{ endpoint: ref.id ?? ref.uid, count }], ["endpoint", "count"], { count });
      });
    });
}

async function recoverAll(
  client: HookgateClient,
  opts: RecoverOptions,
  since: string,
  until: string | undefined,
): Promise<void> {
  const line = progress(opts);
  const rows: Recovered[] = [];
  let requeued = 0;
  try {
    for await (const page of enabledEndpoints(client, opts.tenant)) {
      for (const endpoint of page.nodes) {
        const result = await recoverOne(client, { id: endpoint.id }, since, until);
        const count = "count" in result ? result.count : null;
        rows.push({
          endpointId: endpoint.id,
          url: endpoint.url,
          count,
          error: "error" in result ? result.error : undefined,
        });
        requeued += count ?? 0;
        line.update(
          `recovering: ${rows.length} of ${page.total} endpoints, ${requeued} deliveries re-queued…`,
        );
      }
    }
  } finally {
    line.done();
  }
  await printRows(
    opts,
    rows as unknown as Record<string, unknown>[],
    ["endpointId", "url", "count", "error"],
    rows,
  );
  const failed = rows.filter((r) => r.error);
  if (failed.length > 0)
    fail(`${failed.length} of ${rows.length} endpoints were not recovered (see the error column)`);
}
