import { writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { startHookgate } from "./app.js";
import { ConfigError, loadConfig, type Role } from "./config.js";
import { openDatabase } from "./db/database.js";
import { migrate } from "./db/migrate.js";
import type { ApiKeyScope } from "./generated/prisma/client.js";

const SCOPES: ApiKeyScope[] = [
  "ADMIN",
  "ENDPOINTS_READ",
  "ENDPOINTS_WRITE",
  "EVENTS_PUBLISH",
  "DELIVERIES_READ",
  "DELIVERIES_WRITE",
];

function config() {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hookgate: invalid configuration: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

const program = new Command()
  .name("hookgate")
  .description("Self-hostable webhook delivery gateway with a GraphQL API")
  .showHelpAfterError();

program
  .command("serve")
  .description("run the API and/or the dispatcher")
  .addOption(new Option("--role <role>", "what this process runs").choices(["api", "dispatcher", "all"]))
  .action(async (opts: { role?: Role }) => {
    const cfg = config();
    const hookgate = await startHookgate(cfg, { role: opts.role ?? cfg.role });
    const { logger } = hookgate.app;
    if (hookgate.firstAdminKey) {
      // Printed once, on stderr as well as in the log, because it is never shown again.
      process.stderr.write(
        `\nFirst start: created an ADMIN API key for the root tenant. Store it now; it is not shown again:\n\n    ${hookgate.firstAdminKey}\n\n`,
      );
    }
    if (hookgate.server) logger.info({ url: `${hookgate.server.url}/graphql` }, "Hookgate is listening");
    let signals = 0;
    const shutdown = (signal: string) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, "second signal: exiting now");
        process.exit(1);
      }
      logger.info({ signal }, "shutting down");
      hookgate.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "error during shutdown");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });

program
  .command("migrate")
  .description("apply pending database migrations and exit")
  .action(async () => {
    const cfg = config();
    const db = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 2 });
    try {
      const result = await migrate(db);
      process.stdout.write(
        result.applied.length > 0 ? `applied: ${result.applied.join(", ")}\n` : "database is up to date\n",
      );
    } finally {
      await db.close();
    }
  });

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
    const { createApp } = await import("./app.js");
    const { ensureAdminKey } = await import("./domain/api-keys.js");
    const { createApiKey } = await import("./domain/api-keys.js");
    const { ensureRootTenant } = await import("./domain/tenants.js");
    const app = await createApp({ ...config(), logLevel: "warn" });
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

program
  .command("config")
  .description("print the configuration table (environment variables, defaults, meaning) as Markdown")
  .action(async () => {
    const { configTableMarkdown } = await import("./config.js");
    process.stdout.write(`${configTableMarkdown()}\n`);
  });

const schemaCmd = program.command("schema").description("the GraphQL schema");
schemaCmd
  .command("print")
  .description("print the GraphQL SDL (sorted)")
  .option("--output <file>", "write to a file instead of stdout")
  .action(async (opts: { output?: string }) => {
    const { printHookgateSchema } = await import("./graphql/index.js");
    const sdl = printHookgateSchema();
    if (opts.output) writeFileSync(opts.output, sdl);
    else process.stdout.write(sdl);
  });

await program.parseAsync(process.argv);
