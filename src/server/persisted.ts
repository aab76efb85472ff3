import { createInMemoryAPQStore, useAPQ } from "@graphql-yoga/plugin-apq";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config.js";

/**
 * Automatic persisted queries (Apollo's APQ protocol, `extensions.persistedQuery.sha256Hash`):
 * a hash-only request whose query is not known gets `PERSISTED_QUERY_NOT_FOUND`, the client's
 * retry with the full query (hash checked: `PERSISTED_QUERY_MISMATCH` otherwise) registers it.
 * The store is in memory, per process, and holds at most HOOKGATE_PERSISTED_QUERIES queries
 * (least recently used dropped first; no expiry besides that), so a client can never grow it
 * without bound. A dropped query just costs its client one retry with the full text.
 */
export function persistedQueries(config: Config): Plugin[] {
  if (config.persistedQueryCacheSize === 0) return [];
  return [useAPQ({ store: createInMemoryAPQStore({ max: config.persistedQueryCacheSize, ttl: 0 }) })];
}
