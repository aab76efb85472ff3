import type { Command } from "commander";
import type { ApiKeyScope } from "../generated/prisma/enums.js";
import { type ClientOptions, clientCommand, fail, payload, printRows, withClient } from "./client.js";
import { enumList } from "./input.js";
import { collect, type ListOptions, listCommand } from "./paging.js";
import { loadCliConfig } from "./shared.js";

const SCOPES: ApiKeyScope[] = [
  "ADMIN",
  "ENDPOINTS_READ",
  "ENDPOINTS_WRITE",
  "EVENTS_PUBLISH",
  "DELIVERIES_READ",
  "DELIVERIES_WRITE",
];

interface CreateOptions extends ClientOptions {
  tenant?: string;
  scopes: string;
  name: string;
}

function created(apiKey: { id: string; tenantId: string; scopes: string[] }, key: string): void {
  process.stderr.write(
    `created ${apiKey.id} for tenant ${apiKey.tenantId} with ${apiKey.scopes.join(",")}\n`,
  );
  process.stdout.write(`${key}\n`);
}

/** The createApiKey mutation, as the caller's key (which needs ADMIN). */
function createThroughApi(opts: CreateOptions, scopes: ApiKeyScope[]): Promise<void> {
  if (opts.tenant === "root") {
    fail(
      "--tenant root works on the database directly; through the API give the tenant's id (or leave it out for the key's own tenant)",
      2,
    );
  }
  return withClient(opts, async (client) => {
    const res = await client.CreateApiKey({ input: { name: opts.name, scopes, tenantId: opts.tenant } });
    const done = payload(res.createApiKey, "CreateApiKeyPayload");
    if (opts.json) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
    else created(done.apiKey, done.key);
  });
}

/**
 * Bootstrap: the key is written to the database directly, as the operator. Refused while a server owns an
 * embedded data directory (its writes would never reach it): the message names the way that works.
 */
async function createDirectly(
  opts: CreateOptions & { tenant: string },
  scopes: ApiKeyScope[],
): Promise<void> {
  const cfg = await loadCliConfig();
  const { createApp } = await import("../app.js");
  const { createApiKey, ensureAdminKey } = await import("../domain/api-keys.js");
  const { ensureRootTenant } = await import("../domain/tenants.js");
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp({ ...cfg, logLevel: "warn" });
  } catch (err) {
    const { holder, dataDir } = err as {
      dataDir?: string;
      holder?: { port: number | null; host: string | null };
    };
    if ((err as Error).name === "DataDirInUseError" && holder?.port != null) {
      const host =
        !holder.host || holder.host === "0.0.0.0" || holder.host === "::" ? "127.0.0.1" : holder.host;
      const base = `http://${host.includes(":") ? `[${host}]` : host}:${holder.port}`;
      fail(
        `${dataDir} is in use by a running server: create the key through it with --url ${base} --api-key <an ADMIN key> (or HOOKGATE_URL and HOOKGATE_API_KEY)`,
      );
    }
    throw err;
  }
  try {
    // Not the full bootstrap: it would create a first admin key nobody sees. The key made
    // here is the operator's; HOOKGATE_ADMIN_KEY is still honoured.
    const root = await ensureRootTenant(app);
    if (app.config.adminKey) await ensureAdminKey(app, app.config.adminKey);
    const tenantId = opts.tenant === "root" ? root.id : opts.tenant;
    // The CLI acts with the operator's full authority, as the root tenant's admin.
    const actor = { keyId: "cli", tenantId: root.id, tenantPath: root.path, scopes: ["ADMIN" as const] };
    const { key, apiKey } = await createApiKey(app, actor, { name: opts.name, scopes, tenantId });
    if (opts.json) process.stdout.write(`${JSON.stringify({ apiKey, key }, null, 2)}\n`);
    else created(apiKey, key);
  } catch (err) {
    process.stderr.write(`hookgate: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await app.close();
  }
}

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("manage API keys");
  clientCommand(
    keys
      .command("create")
      .description(
        "create an API key and print it (shown once): through a running server with --url/HOOKGATE_URL and a key, else on the database directly (bootstrap)",
      ),
  )
    .option("--tenant <id>", "tenant id; 'root' for the root tenant (directly on the database only)")
    .requiredOption("--scopes <scopes>", `comma-separated: ${SCOPES.join(", ")}`)
    .option("--name <name>", "a name to recognise the key by", "cli")
    .action(async (opts: CreateOptions) => {
      const scopes = enumList(opts.scopes, "--scopes", SCOPES);
      const url = opts.url ?? process.env.HOOKGATE_URL;
      const apiKey = opts.apiKey ?? process.env.HOOKGATE_API_KEY;
      if (url && apiKey) return createThroughApi(opts, scopes);
      if (opts.url)
        fail("no API key to create the key through the server: pass --api-key or set HOOKGATE_API_KEY", 2);
      if (!opts.tenant) fail("--tenant is required on the database directly (an id, or root)", 2);
      await createDirectly({ ...opts, tenant: opts.tenant }, scopes);
    });
  listCommand(
    clientCommand(
      keys.command("list").description("API keys of the caller's tenant and below (never the keys)"),
    ),
  )
    .option("--tenant <id>", "only this tenant's keys")
    .option("--revoked", "only revoked keys")
    .action((opts: ListOptions & { tenant?: string; revoked?: boolean }) =>
      withClient(opts, async (client) => {
        const filter = { tenantId: opts.tenant, revoked: opts.revoked ? true : undefined };
        const rows = await collect(opts, "keys", 100, async (first, after) => {
          return (await client.ApiKeys({ first, after, filter })).apiKeys;
        });
        await printRows(opts, rows, [
          "id",
          "tenantId",
          "name",
          "prefix",
          "scopes",
          "lastUsedAt",
          "expiresAt",
          "revokedAt",
        ]);
      }),
    );
  clientCommand(
    keys.command("revoke").description("revoke an API key").argument("<id>", "the key's id (key_...)"),
  ).action((id: string, opts: ClientOptions) =>
    withClient(opts, async (client) => {
      const res = await client.RevokeApiKey({ id });
      const { apiKey } = payload(res.revokeApiKey, "RevokeApiKeyPayload");
      await printRows(opts, [apiKey], ["id", "name", "revokedAt"], apiKey);
    }),
  );
}
