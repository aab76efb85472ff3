// `hookgate ...`: wires the command groups into commander. Every group file imports only commander and
// types at the top; the modules a command needs (the app, the database, the schema, the SDK) are imported
// inside its action, so `--help` and argument errors answer without loading them.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerConfig } from "./config.js";
import { registerAttempts, registerDeliveries } from "./deliveries.js";
import { registerEndpoints } from "./endpoints.js";
import { registerEventTypes } from "./event-types.js";
import { registerEvents } from "./events.js";
import { registerKeys } from "./keys.js";
import { registerMigrate } from "./migrate.js";
import { registerSchema } from "./schema.js";
import { registerServe } from "./serve.js";
import { registerTail } from "./tail.js";
import { registerTenants } from "./tenants.js";
import { registerVerify } from "./verify.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command()
  .name("hookgate")
  .description("Self-hostable webhook delivery gateway with a GraphQL API")
  .version(pkg.version, "-V, --version", "print Hookgate's version")
  .showHelpAfterError();

registerServe(program);
registerMigrate(program);
registerKeys(program);
registerConfig(program);
registerSchema(program);
registerTenants(program);
registerEventTypes(program);
registerEndpoints(program);
registerEvents(program);
registerDeliveries(program);
registerAttempts(program);
registerTail(program);
registerVerify(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Refusals (the data directory or the port is in use) are one line that says what to do, not a stack.
  if (err instanceof Error && (err.name === "DataDirInUseError" || err.name === "PortInUseError")) {
    process.stderr.write(`hookgate: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
