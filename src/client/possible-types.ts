import generated from "./generated/possible-types.js";

/**
 * For each union and interface of the schema, the object types that can stand in it: Apollo
 * Client's `new InMemoryCache({ possibleTypes })`. Without it Apollo cannot tell whether
 * `... on Error { code message }` applies to a `ValidationError` and drops those fields.
 * (urql graphcache takes `introspection` instead: `cacheExchange({ schema: introspection })`.)
 */
export const possibleTypes: Record<string, string[]> = generated.possibleTypes;
