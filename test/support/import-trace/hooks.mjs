// Module resolve hook (runs off-thread): appends every resolved URL to IMPORT_TRACE_FILE. Used by
// test/cli-help.test.ts to see what `hookgate ... --help` loads.
import { appendFileSync } from "node:fs";

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.IMPORT_TRACE_FILE) appendFileSync(process.env.IMPORT_TRACE_FILE, `${resolved.url}\n`);
  return resolved;
}
