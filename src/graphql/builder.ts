import SchemaBuilder from "@pothos/core";
import ComplexityPlugin, { ComplexityErrorKind } from "@pothos/plugin-complexity";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import SimpleObjectsPlugin from "@pothos/plugin-simple-objects";
import { GraphQLError } from "graphql";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import type { Actor, App } from "../domain/app.js";
import { hasScope } from "../domain/app.js";
import type PrismaTypes from "../generated/pothos-types.js";
import { getDatamodel } from "../generated/pothos-types.js";
import type { ApiKeyScope } from "../generated/prisma/client.js";

/** Largest page of most connections (a field may allow more: see pagination.ts); more is an error, not a clamp. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export interface GraphQLContext {
  app: App;
  /** The authenticated caller, or null when no key was sent (a key that fails refuses the request). */
  actor: Actor | null;
  requestId: string;
}

type ScopeFailure = { kind: string; scope?: string; parameter?: unknown; failures?: ScopeFailure[] };

/** The ApiKeyScopes a failed scope check wanted (Pothos nests them under any/all failures). */
function requiredScopes(failure: ScopeFailure): string[] {
  if (failure.scope === "scope" && typeof failure.parameter === "string") return [failure.parameter];
  return (failure.failures ?? []).flatMap(requiredScopes);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The one SchemaBuilder. Plugins, context, scalars and defaults live here; no types do
 * (each domain type has its own file beside this one; index.ts imports them all).
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: { authenticated: boolean; scope: ApiKeyScope };
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin, SimpleObjectsPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Check scopes when a subscription starts, not only as each event is resolved.
    authorizeOnSubscribe: true,
    authScopes: async (ctx) => ({
      authenticated: ctx.actor !== null,
      scope: (scope: ApiKeyScope) => ctx.actor !== null && hasScope(ctx.actor, scope),
    }),
    unauthorizedError: (_parent, ctx, _info, result) => {
      if (!ctx.actor) {
        return new GraphQLError("Authentication required: send Authorization: Bearer <api key>", {
          extensions: { code: "UNAUTHENTICATED" },
        });
      }
      const scopes = requiredScopes(result.failure);
      const needed = scopes.length > 0 ? ` (requires ${scopes.join(" or ")})` : "";
      return new GraphQLError(`Your API key lacks the scope for this field${needed}`, {
        extensions: { code: "FORBIDDEN", requiredScope: scopes[0] ?? null },
      });
    },
  },
  errors: {
    defaultTypes: [],
    directResult: true,
    defaultResultOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Payload` },
    defaultUnionOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Result` },
  },
  prisma: {
    client: (ctx) => ctx.app.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
    maxConnectionSize: MAX_PAGE_SIZE,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  complexity: {
    defaultComplexity: 1,
    // Connections set their own multiplier from `first` (see connectionComplexity); plain
    // lists in this schema are small and bounded.
    defaultListMultiplier: 1,
    limit: (ctx) => ({
      complexity: ctx.app.config.graphqlMaxCost,
      depth: ctx.app.config.graphqlMaxDepth,
      breadth: 500,
    }),
    complexityError: (kind, result) =>
      new GraphQLError(
        kind === ComplexityErrorKind.Depth
          ? `Query is too deep: depth ${result.depth} exceeds the limit of ${result.maxDepth} (HOOKGATE_GRAPHQL_MAX_DEPTH)`
          : kind === ComplexityErrorKind.Breadth
            ? `Query selects too many fields: ${result.breadth} exceeds the limit of ${result.maxBreadth}`
            : `Query is too costly: estimated cost ${result.complexity} exceeds the limit of ${result.maxComplexity} (HOOKGATE_GRAPHQL_MAX_COST)`,
        // Refused before execution: HTTP 400 for graphql-response+json clients (`spec: true`
        // keeps 200 for application/json ones), like the depth and alias limits.
        { extensions: { code: "QUERY_TOO_COMPLEX", kind, http: { status: 400, spec: true } } },
      ),
  },
});

builder.addScalarType("DateTime", DateTimeResolver);
builder.addScalarType("JSON", JSONResolver);

builder.queryType({});
builder.mutationType({});
