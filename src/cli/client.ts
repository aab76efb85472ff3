import type { Command } from "commander";
import type { HookgateClient } from "../client/index.js";

/** Options every client command takes (a running Hookgate, reached through the SDK like any user). */
export interface ClientOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/** Adds --url, --api-key and --json to a command that talks to a running server. */
export function clientCommand(cmd: Command): Command {
  return cmd
    .option("--url <url>", "Hookgate's base URL (default: HOOKGATE_URL, else http://127.0.0.1:4000)")
    .option("--api-key <key>", "API key (default: HOOKGATE_API_KEY)")
    .option("--json", "print JSON for scripts instead of a table");
}

/**
 * Runs `fn` with an SDK client; any failure (refused key, unreachable server, typed error) becomes one
 * line on stderr and exit code 1. The SDK is imported here, not at the top, to keep --help fast.
 */
export async function withClient(
  opts: ClientOptions,
  fn: (client: HookgateClient) => Promise<void>,
): Promise<void> {
  const apiKey = opts.apiKey ?? process.env.HOOKGATE_API_KEY;
  if (!apiKey) fail("no API key: pass --api-key or set HOOKGATE_API_KEY", 2);
  const url = opts.url ?? process.env.HOOKGATE_URL ?? "http://127.0.0.1:4000";
  const { createHookgateClient, HookgateClientError } = await import("../client/index.js");
  const client = createHookgateClient({ url, apiKey });
  try {
    await fn(client);
  } catch (err) {
    if (err instanceof HookgateClientError) fail(`${err.code ?? "ERROR"}: ${err.message}`);
    // fetch's own errors say only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, bad port).
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (err instanceof TypeError && cause) {
      fail(
        `cannot reach Hookgate at ${url}: ${cause.code ?? cause.message} (is it running? --url or HOOKGATE_URL)`,
      );
    }
    fail((err as Error).message);
  } finally {
    await client.close();
  }
}

export function fail(message: string, code = 1): never {
  process.stderr.write(`hookgate: ${message}\n`);
  process.exit(code);
}

/**
 * A typed result's payload, narrowed to the success member; any error member of the union becomes one
 * line with its code and message (and each field error for a ValidationError), exit 1.
 */
export function payload<T extends { __typename?: string }, N extends string>(
  result: T,
  typename: N,
): Extract<T, { __typename: N }> {
  if (result.__typename === typename) return result as Extract<T, { __typename: N }>;
  const r = result as {
    __typename?: string;
    code?: string;
    message?: string;
    fieldErrors?: { path: string; message: string }[];
  };
  const fields = r.fieldErrors?.map((f) => `${f.path}: ${f.message}`).join("; ");
  fail(`${r.code ?? r.__typename}: ${fields || r.message}`);
}

/** Prints rows as a table, or as JSON with --json. */
export async function printRows(
  opts: ClientOptions,
  rows: Record<string, unknown>[],
  columns: string[],
  json: unknown = rows,
): Promise<void> {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const table = await newTable(columns);
  for (const row of rows) table.push(columns.map((c) => formatCell(row[c])));
  // An empty list says so, rather than a header alone that reads like a failed command.
  if (rows.length === 0) table.push([{ colSpan: columns.length, content: "(none)" }]);
  process.stdout.write(`${table.toString()}\n`);
}

/** One object as a two-column table (field, value), or as JSON with --json. */
export async function printRecord(
  opts: ClientOptions,
  record: Record<string, unknown>,
  fields: string[],
  json: unknown = record,
): Promise<void> {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const table = await newTable();
  for (const f of fields) table.push({ [f]: formatCell(record[f]) });
  process.stdout.write(`${table.toString()}\n`);
}

/** A cli-table3 table (loaded on use: `--help` stays light); colours only on a terminal, so piped output is plain. */
async function newTable(head?: string[]) {
  const { default: Table } = await import("cli-table3");
  const style = process.stdout.isTTY ? { head: ["cyan"] } : { head: [], border: [] };
  return new Table(head ? { head, style } : { style });
}

function formatCell(value: unknown): string {
  if (value == null) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
