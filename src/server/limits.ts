import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import type { GraphQLError } from "graphql";
import type { Config } from "../config.js";

type Limit = "Depth" | "Aliases" | "Tokens" | "Directives";

/**
 * graphql-armor rejects with a bare `Syntax Error: ...` message. Its reject callbacks get the
 * error before it is thrown: give it the code the cost limit uses (QUERY_TOO_COMPLEX, with the
 * limit's kind), HTTP 400 for `application/graphql-response+json` clients (`spec: true` keeps 200
 * for `application/json` ones, as the GraphQL-over-HTTP spec asks), and a message that names the
 * setting that would allow the operation.
 */
function refuse(kind: Limit, limit: number, setting: string) {
  return (_ctx: unknown, error: GraphQLError) => {
    const found = /found (\d+)/.exec(error.message)?.[1];
    const what = {
      Depth: `Query is too deep: depth ${found} exceeds the limit of ${limit}`,
      Aliases: `Query has too many aliases: ${found} exceeds the limit of ${limit}`,
      Tokens: `Query is too long: more than ${limit} tokens`,
      Directives: `Query has too many directives: ${found} exceeds the limit of ${limit}`,
    }[kind];
    error.message = setting ? `${what} (${setting})` : what;
    Object.assign(error.extensions, { code: "QUERY_TOO_COMPLEX", kind, http: { status: 400, spec: true } });
  };
}

/** Depth, alias, token and directive limits (cost is priced by the Pothos complexity plugin). */
export function operationLimits(config: Config) {
  return EnvelopArmorPlugin({
    maxDepth: {
      enabled: true,
      n: config.graphqlMaxDepth,
      ignoreIntrospection: true,
      onReject: [refuse("Depth", config.graphqlMaxDepth, "HOOKGATE_GRAPHQL_MAX_DEPTH")],
    },
    maxAliases: {
      enabled: true,
      n: config.graphqlMaxAliases,
      onReject: [refuse("Aliases", config.graphqlMaxAliases, "HOOKGATE_GRAPHQL_MAX_ALIASES")],
    },
    maxTokens: {
      enabled: true,
      n: config.graphqlMaxTokens,
      onReject: [refuse("Tokens", config.graphqlMaxTokens, "HOOKGATE_GRAPHQL_MAX_TOKENS")],
    },
    maxDirectives: { enabled: true, n: MAX_DIRECTIVES, onReject: [refuse("Directives", MAX_DIRECTIVES, "")] },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: !config.introspection },
  });
}

/** Fixed: no operation of this schema needs more than a handful of directives. */
const MAX_DIRECTIVES = 50;
