import { type Command, Option } from "commander";
import type { Role } from "../config.js";
import { loadCliConfig } from "./shared.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the API and/or the dispatcher")
    .addOption(new Option("--role <role>", "what this process runs").choices(["api", "dispatcher", "all"]))
    .action(async (opts: { role?: Role }) => {
      const cfg = await loadCliConfig();
      const { startHookgate } = await import("../app.js");
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
}
