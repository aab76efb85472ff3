import type { Command } from "commander";

export function registerConfig(program: Command): void {
  program
    .command("config")
    .description("print the configuration table (environment variables, defaults, meaning) as Markdown")
    .action(async () => {
      const { configTableMarkdown } = await import("../config.js");
      process.stdout.write(`${configTableMarkdown()}\n`);
    });
}
