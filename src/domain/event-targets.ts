/**
 * Where a publish goes: the event type it names and the endpoints that match it, read from the database
 * (publishTargets), once per batch (batchTargets), or from a per-process cache that the write checks
 * (cachedTargets).
 */
import type { EventType, Tenant } from "../generated/prisma/client.js";
import type { App } from "./app.js";
import { eventFilterCandidates } from "./endpoints.js";
import { ancestorIds } from "./tenants.js";

// The event type a publish names (the nearest tenant's definition wins over an ancestor's) and the endpoints
// it goes to, read together in one round trip: enabled, not deleted, of the tenant itself or of an ancestor
// that asked for its children's events (includeChildTenants), whose filter holds the name, "*" or a
// "prefix.*" of it (array overlap).
const PUBLISH_TARGETS_SQL = `
SELECT et.id, et.tenant_id AS "tenantId", et.name, et.description, et.schema, et.deprecated,
       et.created_at AS "createdAt", et.updated_at AS "updatedAt",
       ARRAY(SELECT e.id FROM endpoints e
              WHERE e.status = 'ENABLED' AND e.deleted_at IS NULL AND e.events && $3::text[]
                AND (e.tenant_id = $4 OR (e.include_child_tenants AND e.tenant_id = ANY($5::text[])))
              ORDER BY e.id) AS endpoint_ids
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (
    SELECT * FROM event_types WHERE name = $1 AND tenant_id = ANY($2::text[])
     ORDER BY array_position($2::text[], tenant_id) DESC LIMIT 1
  ) et ON true`;

/** See PUBLISH_TARGETS_SQL. eventType is null when no visible type has that name. */
export async function publishTargets(app: App, tenant: TenantRef, type: string): Promise<PublishTargets> {
  const scope = targetsScope(tenant, type);
  const [row] = await app.db.query<EventType & { endpoint_ids: string[] }>(
    PUBLISH_TARGETS_SQL,
    [type, scope.chain, scope.candidates, tenant.id, scope.ancestors],
    "hookgate_publish_targets",
  );
  const { endpoint_ids: endpointIds, ...eventType } = row!;
  return { eventType: eventType.id ? eventType : null, endpointIds };
}

/** What PUBLISH_TARGETS_SQL is given besides the tenant: its chain, the filter values that match, ancestors. */
export function targetsScope(tenant: TenantRef, type: string) {
  const chain = ancestorIds(tenant.path);
  return {
    chain,
    candidates: eventFilterCandidates(type),
    ancestors: chain.filter((id) => id !== tenant.id),
  };
}

type TenantRef = Pick<Tenant, "id" | "path">;

export interface PublishTargets {
  eventType: EventType | null;
  endpointIds: string[];
  /**
   * Set when the answer came from the process cache (cachedTargets) rather than the database: the write
   * must check that it still holds (event-writes.ts writeCheckedEvent) and write nothing when it does not.
   */
  cached?: CachedTargets;
}

export interface CachedTargets {
  eventTypeId: string;
  /** The event type's JSON Schema as JSON text, or null. */
  schemaJson: string | null;
  endpointIds: string[];
}

export type TargetsLookup = (
  tenant: TenantRef,
  type: string,
  opts?: { fresh?: boolean },
) => Promise<PublishTargets>;

/**
 * publishTargets for the events of one batch, read once per (tenant, type): a batch of 100 events of one
 * type makes one lookup, and every event of the batch goes to the same endpoints. Lives as long as the batch
 * (nothing is cached across calls, so an endpoint change is seen by the next call).
 */
export function batchTargets(app: App): TargetsLookup {
  const seen = new Map<string, ReturnType<TargetsLookup>>();
  return (tenant, type) => {
    const key = `${tenant.id}\u0000${type}`;
    let found = seen.get(key);
    if (!found) {
      found = publishTargets(app, tenant, type);
      seen.set(key, found);
    }
    return found;
  };
}

/** (tenant, type) entries the publish cache holds per process, least recently used evicted first. */
export const TARGETS_CACHE_MAX = 1000;

const caches = new WeakMap<App, Map<string, CachedTargets & { eventType: EventType }>>();

/**
 * publishTargets for publishEvent, served from a per-process cache after the first read of each
 * (tenant, type). Nothing in it can go stale unseen: a cached answer is marked (`cached`), and the
 * statement that writes the event re-reads the event type and the matching endpoints in its own snapshot
 * and writes nothing unless they are what the cache said (same type, not deprecated, same schema, same
 * endpoint ids); on a mismatch the caller forgets the entry and publishes again from a fresh read
 * (forgetTargets). So the cache saves the lookup's round trip, never freshness. A cached answer that would
 * refuse the event (unknown or deprecated type, payload against the schema) is never trusted: only usable
 * types are cached, and a schema refusal is checked again against a fresh read (`fresh: true`).
 * Bound: TARGETS_CACHE_MAX entries per process, each an event type and its endpoint ids.
 */
export function cachedTargets(app: App): TargetsLookup {
  let cache = caches.get(app);
  if (!cache) {
    cache = new Map();
    caches.set(app, cache);
  }
  const entries = cache;
  return async (tenant, type, opts) => {
    const key = `${tenant.id}\u0000${type}`;
    const hit = opts?.fresh ? undefined : entries.get(key);
    if (hit) {
      // Re-inserted: Map order is least recently used first.
      entries.delete(key);
      entries.set(key, hit);
      return { eventType: hit.eventType, endpointIds: hit.endpointIds, cached: hit };
    }
    const found = await publishTargets(app, tenant, type);
    entries.delete(key);
    if (found.eventType && !found.eventType.deprecated) {
      entries.set(key, {
        eventType: found.eventType,
        eventTypeId: found.eventType.id,
        schemaJson: found.eventType.schema == null ? null : JSON.stringify(found.eventType.schema),
        endpointIds: found.endpointIds,
      });
      if (entries.size > TARGETS_CACHE_MAX) entries.delete(entries.keys().next().value!);
    }
    return found;
  };
}

/** Drops a cached answer that the write found stale (see cachedTargets). */
export function forgetTargets(app: App, tenantId: string, type: string): void {
  caches.get(app)?.delete(`${tenantId}\u0000${type}`);
}
