import type { Command } from "commander";
import { type ClientOptions, fail } from "./client.js";
import { integer } from "./input.js";

/*
 * Listing commands page through a GraphQL connection with `after` cursors until --limit rows (or, with
 * --all, every row). Long runs show a progress line on stderr, only on a terminal and never with --json,
 * so pipes and scripts see nothing but the result.
 */

export interface ListOptions extends ClientOptions {
  limit: string;
  all?: boolean;
}

interface Page<N> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  edges: { node: N }[];
}

const DEFAULT_LIMIT = "50";
/** The most rows --limit may ask for; past it, --all pages through everything anyway. */
const MAX_LIMIT = 100_000;

/** Adds --limit and --all to a listing command. */
export function listCommand(cmd: Command): Command {
  return cmd
    .option(
      "--limit <n>",
      `at most this many rows, newest or oldest first as the API orders them`,
      DEFAULT_LIMIT,
    )
    .option("--all", "every row, page by page (ignores --limit)");
}

/** A progress line on stderr that rewrites itself; silent unless stderr is a terminal and output is not JSON. */
export function progress(opts: ClientOptions): { update(text: string): void; done(): void } {
  const shown = Boolean(process.stderr.isTTY) && !opts.json;
  let written = false;
  return {
    update(text) {
      if (!shown) return;
      process.stderr.write(`\r\x1b[K${text}`);
      written = true;
    },
    done() {
      if (written) process.stderr.write("\r\x1b[K");
    },
  };
}

/**
 * Fetches pages of at most `maxPage` rows until the limit is reached or the connection ends.
 * `what` names the rows in the progress line ("deliveries").
 */
export async function collect<N>(
  opts: ListOptions,
  what: string,
  maxPage: number,
  fetchPage: (first: number, after: string | undefined) => Promise<Page<N>>,
): Promise<N[]> {
  const limit = opts.all ? Number.POSITIVE_INFINITY : integer(opts.limit, "--limit", 1, MAX_LIMIT);
  const line = progress(opts);
  const nodes: N[] = [];
  let after: string | undefined;
  let total = 0;
  let more = true;
  try {
    while (more && nodes.length < limit) {
      const page = await fetchPage(Math.min(maxPage, limit - nodes.length), after);
      total = page.totalCount;
      for (const edge of page.edges) nodes.push(edge.node);
      more = page.pageInfo.hasNextPage;
      after = page.pageInfo.endCursor ?? undefined;
      if (more && !after) fail(`the server gave no cursor to page ${what} further`);
      line.update(`${what}: ${nodes.length} of ${total}…`);
    }
  } finally {
    line.done();
  }
  if (more && !opts.json) {
    process.stderr.write(`showing ${nodes.length} of ${total} ${what} (--limit <n> or --all for more)\n`);
  }
  return nodes;
}
