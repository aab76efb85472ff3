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
      // Signals are handled from the very start (a supervisor may stop a process that is still
      // migrating). A process group signal reaches this process twice under `npm start` (once from
      // the terminal or supervisor, once forwarded by npm), so a repeat within REPEAT_MS is the same
      // request; only a later one (someone pressing Ctrl-C again) forces an immediate exit.
      const REPEAT_MS = 2000;
      let firstSignalAt = 0;
      let stop: (() => Promise<void>) | null = null;
      // Until the logger exists (a signal during start), lines go to stderr.
      let log = (_level: "info" | "warn" | "error", obj: object, msg: string): void => {
        process.stderr.write(`hookgate: ${msg} ${JSON.stringify(obj)}\n`);
      };
      const stopNow = () => {
        log("info", {}, "shutting down");
        stop!().then(
          () => process.exit(0),
          (err: unknown) => {
            log("error", { err }, "error during shutdown");
            process.exit(1);
          },
        );
      };
      const onSignal = (signal: NodeJS.Signals) => {
        const now = Date.now();
        if (firstSignalAt === 0) {
          firstSignalAt = now;
          log("info", { signal }, "signal received");
          if (stop) stopNow(); // else: stopped as soon as the start completes
        } else if (now - firstSignalAt > REPEAT_MS) {
          log("warn", { signal }, "second signal: exiting now");
          process.exit(1);
        }
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);

      const role = opts.role ?? cfg.role;
      // A dispatcher on PostgreSQL connects while the application loads: the connection's round trips (and
      // PostgreSQL's work, on another core) overlap the loading, and the first claim comes sooner.
      const database =
        role === "dispatcher" && cfg.databaseUrl
          ? import("../db/database.js").then(({ openDatabase }) =>
              openDatabase({
                databaseUrl: cfg.databaseUrl,
                poolSize: cfg.databasePoolSize,
                prisma: false,
                onError: (err) => log("warn", { err }, "database connection error"),
              }),
            )
          : undefined;
      // Its failure is reported where startHookgate awaits it, not as an unhandled rejection meanwhile.
      database?.catch(() => {});
      const { startHookgate } = await import("../app.js");
      const hookgate = await startHookgate(cfg, { role, database });
      const { logger } = hookgate.app;
      log = (level, obj, msg) => {
        logger[level](obj, msg);
      };
      stop = () => hookgate.stop();
      if (hookgate.firstAdminKey) {
        // Printed once, on stderr as well as in the log, because it is never shown again.
        process.stderr.write(
          `\nFirst start: created an ADMIN API key for the root tenant. Store it now; it is not shown again:\n\n    ${hookgate.firstAdminKey}\n\n`,
        );
      }
      if (role !== "dispatcher")
        logger.info({ url: `${hookgate.server.url}/graphql` }, "Hookgate is listening");
      if (firstSignalAt !== 0) stopNow();
    });
}
