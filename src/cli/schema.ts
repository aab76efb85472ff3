import { writeFileSync } from "node:fs";
import type { Command } from "commander";

export function registerSchema(program: Command): void {
  const schema = program.command("schema").description("the GraphQL schema");
  schema
    .command("print")
    .description("print the GraphQL SDL (sorted)")
    .option("--output <file>", "write to a file instead of stdout")
    .action(async (opts: { output?: string }) => {
      const { printHookgateSchema } = await import("../graphql/index.js");
      const sdl = printHookgateSchema();
      if (opts.output) writeFileSync(opts.output, sdl);
      else process.stdout.write(sdl);
    });
}
