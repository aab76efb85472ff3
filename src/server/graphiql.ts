import type { IncomingMessage } from "node:http";
import type { GraphiQLOptions } from "graphql-yoga";

/**
 * GraphiQL at /graphql, from assets inside the installed package (@graphql-yoga/render-graphiql:
 * the editor, its styles and its Monaco workers inlined in one page), so it works offline and
 * asks nothing of a CDN. The bundle is ~9 MB of JavaScript: it is imported on the first browser
 * visit, not at start-up, and the page is rendered once and kept.
 */

/** What a new visitor sees: how to authenticate, and a first query that shows whether it worked. */
const DEFAULT_QUERY = `# Hookgate's GraphQL API. Every operation needs an API key:
# put yours in the Headers tab below ("Bearer hk_..."), then
# re-fetch the schema (the arrows, bottom left) for the Docs
# pane and completion. A new data directory prints its first
# ADMIN key once at start; \`npx hookgate keys create --help\`.
# Ctrl-Enter runs the operation below.
query WhoAmI {
  viewer {
    keyId
    scopes
    tenant {
      id
      name
    }
  }
}
`;

export const GRAPHIQL_OPTIONS: GraphiQLOptions = {
  title: "Hookgate",
  defaultQuery: DEFAULT_QUERY,
  headers: JSON.stringify({ authorization: "Bearer <your API key>" }, null, 2),
  defaultEditorToolsVisibility: "headers",
  // The key stays in the page: it is not written to the browser's localStorage.
  shouldPersistHeaders: false,
};

let page: Promise<string> | undefined;

/** yoga's `renderGraphiQL`: the options are fixed per process, so one rendering serves every visit. */
export function renderGraphiQL(options: GraphiQLOptions): Promise<string> {
  page ??= import("@graphql-yoga/render-graphiql")
    .then((m) => m.renderGraphiQL(options))
    .catch((err: unknown) => {
      page = undefined; // a failed import is tried again on the next visit, not remembered
      throw err;
    });
  return page;
}

/** A browser opening /graphql (GET, HTML accepted, no operation in the URL). */
export function isGraphiQLVisit(req: IncomingMessage): boolean {
  return req.method === "GET" && !req.url?.includes("?") && (req.headers.accept ?? "").includes("text/html");
}

/** The answer to such a visit when GraphiQL is off: what is refused and the setting that allows it. */
export const GRAPHIQL_OFF =
  "GraphiQL is not served by this process: set HOOKGATE_GRAPHIQL=true to serve it (it is off by default when DATABASE_URL is set). The API itself answers POST /graphql.";
