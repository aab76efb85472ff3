import type { Command } from "commander";
import { loadCliConfig } from "./shared.js";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("apply pending database migrations and exit")
    .action(async () => {
      const cfg = await loadCliConfig();
      const { openDatabase } = await import("../db/database.js");
      const { migrate } = await import("../db/migrate.js");
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
}
