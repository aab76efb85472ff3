import type { Command } from "commander";
import type { ApiKeyScope } from "../generated/prisma/enums.js";
import { type ClientOptions, clientCommand, payload, printRows, withClient } from "./client.js";
import { loadCliConfig } from "./shared.js";

const SCOPES: ApiKeyScope[] = [
  "ADMIN",
  "ENDPOINTS_READ",
  "ENDPOINTS_WRITE",
  "EVENTS_PUBLISH",
  "DELIVERIES_READ",
  "DELIVERIES_WRITE",
];

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("manage API keys");
  keys
    .command("create")
    .description("create an API key and print it (shown once)")
    .requiredOption("--tenant <id>", "tenant id, or 'root' for the root tenant")
    .requiredOption("--scopes <scopes>", `comma-separated: ${SCOPES.join(", ")}`)
    .option("--name <name>", "a name to recognise the key by", "cli")
    .action(async (opts: { tenant: string; scopes: string; name: string }) => {
      const scopes = opts.scopes.split(",").map((s) => s.trim().toUpperCase());
      const bad = scopes.filter((s) => !SCOPES.includes(s as ApiKeyScope));
      if (bad.length > 0 || scopes.length === 0) {
        process.stderr.write(`hookgate: unknown scope(s) ${bad.join(", ")}; expected ${SCOPES.join(", ")}\n`);
        process.exit(2);
      }
      const cfg = await loadCliConfig();
      const { createApp } = await import("../app.js");
      const { createApiKey, ensureAdminKey } = await import("../domain/api-keys.js");
      const { ensureRootTenant } = await import("../domain/tenants.js");
      const app = await createApp({ ...cfg, logLevel: "warn" });
      try {
        // Not the full bootstrap: it would create a first admin key nobody sees. The key made
        // here is the operator's; HOOKGATE_ADMIN_KEY is still honoured.
        const root = await ensureRootTenant(app);
        if (app.config.adminKey) await ensureAdminKey(app, app.config.adminKey);
        const tenantId = opts.tenant === "root" ? root.id : opts.tenant;
        // The CLI acts with the operator's full authority, as the root tenant's admin.
        const actor = { keyId: "cli", tenantId: root.id, tenantPath: root.path, scopes: ["ADMIN" as const] };
        const { key, apiKey } = await createApiKey(app, actor, {
          name: opts.name,
          scopes: scopes as ApiKeyScope[],
          tenantId,
        });
        process.stderr.write(
          `created ${apiKey.id} for tenant ${apiKey.tenantId} with ${apiKey.scopes.join(",")}\n`,
        );
        process.stdout.write(`${key}\n`);
      } catch (err) {
        process.stderr.write(`hookgate: ${(err as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        await app.close();
      }
    });
  clientCommand(
    keys.command("list").description("API keys of the caller's tenant and below (never the keys)"),
  )
    .option("--tenant <id>", "only this tenant's keys")
    .option("--revoked", "only revoked keys")
    .action((opts: ClientOptions & { tenant?: string; revoked?: boolean }) =>
      withClient(opts, async (client) => {
        const { apiKeys } = await client.ApiKeys({
          first: 100,
          filter: { tenantId: opts.tenant, revoked: opts.revoked ? true : undefined },
        });
        const rows = apiKeys.edges.map((e) => e.node);
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
      const { apiKey } = payload(res.revokeApiKey, "RevokeApiKeyPayload") as Extract<
        typeof res.revokeApiKey,
        { __typename: "RevokeApiKeyPayload" }
      >;
      await printRows(opts, [apiKey], ["id", "name", "revokedAt"], apiKey);
    }),
  );
}
