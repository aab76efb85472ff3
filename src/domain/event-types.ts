import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { type EventType, Prisma } from "../generated/prisma/client.js";
import type { Actor, App } from "./app.js";
import { ConflictError, FieldErrors, NotFoundError } from "./errors.js";
import { hasPrefix, newId } from "./ids.js";
import { ancestorIds, resolveTenant, visibleTenants } from "./tenants.js";

export const EVENT_TYPE_NAME_MAX = 100;
export const EVENT_TYPE_DESCRIPTION_MAX = 1024;
/** Serialised size cap: a schema is compiled to code and held in memory per event type. */
export const EVENT_TYPE_SCHEMA_MAX_BYTES = 64 * 1024;

/** Dot-separated segments of letters, digits, `_` and `-`: `invoice.paid`, `customer.sub-account.created`. */
const NAME_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

export function isValidEventTypeName(name: string): boolean {
  return name.length >= 1 && name.length <= EVENT_TYPE_NAME_MAX && NAME_RE.test(name);
}

/** Why `name` cannot name an event type, or null. */
export function eventTypeNameProblem(name: string): string | null {
  if (name.length === 0) return "name must not be empty";
  if (name.length > EVENT_TYPE_NAME_MAX) return `name must be at most ${EVENT_TYPE_NAME_MAX} characters`;
  if (!NAME_RE.test(name)) {
    return "name must be dot-separated segments of letters, digits, _ and - (e.g. invoice.paid)";
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON Schema
// ---------------------------------------------------------------------------------------------------------------

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

// Options shared by every dialect. strict is off because real platforms' schemas carry annotations
// ajv does not know (x-*, example, nullable); the meta-schema check still refuses malformed keywords.
// addUsedSchema:false keeps schemas that declare an $id out of the shared instance, so two event types
// may use the same $id and nothing accumulates. Remote $refs are never fetched (no loadSchema).
const AJV_OPTIONS = { strict: false, allErrors: true, addUsedSchema: false } as const;

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is module.exports,
// which is the plugin at runtime, but typed as the namespace.
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

function withFormats<T extends AnyAjv>(ajv: T): T {
  addFormats(ajv as Ajv);
  return ajv;
}

let dialects: { draft07: Ajv; draft2019: Ajv2019; draft2020: Ajv2020 } | null = null;

function ajvFor(schema: Record<string, unknown>): AnyAjv | string {
  dialects ??= {
    draft07: withFormats(new Ajv(AJV_OPTIONS)),
    draft2019: withFormats(new Ajv2019(AJV_OPTIONS)),
    draft2020: withFormats(new Ajv2020(AJV_OPTIONS)),
  };
  const declared = schema.$schema;
  if (declared === undefined) return dialects.draft2020;
  if (typeof declared !== "string") return "$schema must be a string";
  if (/draft-0[67]\/schema#?$/.test(declared)) return dialects.draft07;
  if (/draft\/2019-09\/schema#?$/.test(declared)) return dialects.draft2019;
  if (/draft\/2020-12\/schema#?$/.test(declared)) return dialects.draft2020;
  return `unsupported $schema ${declared}: use draft-07, 2019-09 or 2020-12 (the default)`;
}

/** Compiles once; the schema object is dropped from ajv's own cache so repeated compiles do not pile up. */
function compileWith(schema: Record<string, unknown>): ValidateFunction {
  const ajv = ajvFor(schema);
  if (typeof ajv === "string") throw new Error(ajv);
  try {
    return ajv.compile(schema);
  } finally {
    ajv.removeSchema(schema);
  }
}

/** Why `schema` is not an acceptable event payload schema, or null. */
export function jsonSchemaProblem(schema: unknown): string | null {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    return "schema must be a JSON Schema object";
  }
  const size = Buffer.byteLength(JSON.stringify(schema), "utf8");
  if (size > EVENT_TYPE_SCHEMA_MAX_BYTES) {
    return `schema must be at most ${EVENT_TYPE_SCHEMA_MAX_BYTES} bytes as JSON (got ${size})`;
  }
  try {
    compileWith(schema as Record<string, unknown>);
  } catch (err) {
    return `invalid JSON Schema: ${(err as Error).message}`;
  }
  return null;
}

const COMPILED_CACHE_MAX = 1000;
const compiled = new Map<string, ValidateFunction>();

/**
 * The payload validator of an event type, or null when it has no schema. Cached per (id, updatedAt):
 * an update bumps updatedAt, so a changed schema is recompiled and the stale entry ages out.
 */
export function compileEventTypeSchema(
  eventType: Pick<EventType, "id" | "updatedAt" | "schema">,
): ValidateFunction | null {
  if (eventType.schema === null || eventType.schema === undefined) return null;
  const key = `${eventType.id}:${eventType.updatedAt.getTime()}`;
  const hit = compiled.get(key);
  if (hit) {
    // Re-insert so that Map order is least-recently-used first.
    compiled.delete(key);
    compiled.set(key, hit);
    return hit;
  }
  const validate = compileWith(eventType.schema as Record<string, unknown>);
  compiled.set(key, validate);
  if (compiled.size > COMPILED_CACHE_MAX) {
    const oldest = compiled.keys().next().value;
    if (oldest !== undefined) compiled.delete(oldest);
  }
  return validate;
}

// ---------------------------------------------------------------------------------------------------------------
// Visibility
// ---------------------------------------------------------------------------------------------------------------

/** Prisma `where` for the event types a tenant can use: its own and its ancestors'. */
export function usableEventTypes(tenantPath: string): Prisma.EventTypeWhereInput {
  return { tenantId: { in: ancestorIds(tenantPath) } };
}

/**
 * The event type `name` as the tenant at `tenantPath` sees it (own or an ancestor's), or null. When
 * several levels define the same name, the nearest one wins, so a sub-account can refine a platform type.
 */
export async function findVisibleEventType(
  app: App,
  tenantPath: string,
  name: string,
): Promise<EventType | null> {
  const chain = ancestorIds(tenantPath);
  // Runs on every publish: the raw driver, nearest tenant first (its definition wins over an ancestor's).
  const [row] = await app.db.query<EventType>(
    `SELECT id, tenant_id AS "tenantId", name, description, schema, deprecated,
            created_at AS "createdAt", updated_at AS "updatedAt"
       FROM event_types WHERE name = $1 AND tenant_id = ANY($2::text[])
      ORDER BY array_position($2::text[], tenant_id) DESC LIMIT 1`,
    [name, chain],
  );
  return row ?? null;
}

/** Names of the usable event types among `names` (deprecated included; the caller decides). */
export async function findVisibleEventTypes(
  app: App,
  tenantPath: string,
  names: string[],
): Promise<Map<string, EventType>> {
  const chain = ancestorIds(tenantPath);
  const rows =
    names.length === 0
      ? []
      : await app.prisma.eventType.findMany({ where: { tenantId: { in: chain }, name: { in: names } } });
  rows.sort((a, b) => chain.indexOf(a.tenantId) - chain.indexOf(b.tenantId));
  // Nearest tenant last, so it overwrites its ancestors' entry.
  const byName = new Map<string, EventType>();
  for (const row of rows) byName.set(row.name, row);
  return byName;
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------------------------

export interface CreateEventTypeInput {
  name: string;
  description?: string | null;
  schema?: unknown;
  tenantId?: string | null;
}

export interface UpdateEventTypeInput {
  description?: string | null;
  /** undefined leaves the schema as it is; null removes it. */
  schema?: unknown;
  deprecated?: boolean | null;
}

function checkDescription(errors: FieldErrors, description: string | null | undefined): void {
  if (description != null && description.length > EVENT_TYPE_DESCRIPTION_MAX) {
    errors.add("input.description", `description must be at most ${EVENT_TYPE_DESCRIPTION_MAX} characters`);
  }
}

function checkSchema(errors: FieldErrors, schema: unknown): void {
  if (schema === undefined || schema === null) return;
  const problem = jsonSchemaProblem(schema);
  if (problem) errors.add("input.schema", problem);
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "P2002";
}

export async function createEventType(
  app: App,
  actor: Actor,
  input: CreateEventTypeInput,
): Promise<EventType> {
  const errors = new FieldErrors();
  const nameProblem = eventTypeNameProblem(input.name);
  if (nameProblem) errors.add("input.name", nameProblem);
  checkDescription(errors, input.description);
  checkSchema(errors, input.schema);
  errors.throwIfAny();
  const tenant = await resolveTenant(app, actor, input.tenantId);
  const conflict = () =>
    new ConflictError(`An event type named ${input.name} already exists in this tenant`, "input.name");
  if (
    await app.prisma.eventType.findUnique({
      where: { tenantId_name: { tenantId: tenant.id, name: input.name } },
    })
  ) {
    throw conflict();
  }
  try {
    return await app.prisma.eventType.create({
      data: {
        id: newId("eventType"),
        tenantId: tenant.id,
        name: input.name,
        description: input.description ?? "",
        schema: (input.schema ?? undefined) as Prisma.InputJsonValue | undefined,
      },
    });
  } catch (err) {
    // Two creates racing past the check above.
    if (isUniqueViolation(err)) throw conflict();
    throw err;
  }
}

/** Only the owning tenant (or an ancestor of it) may change an event type; a child cannot edit the platform's. */
export async function findOwnedEventType(app: App, actor: Actor, id: string): Promise<EventType | null> {
  if (!hasPrefix(id, "eventType")) return null;
  return app.prisma.eventType.findFirst({ where: { id, tenant: visibleTenants(actor) } });
}

export async function updateEventType(
  app: App,
  actor: Actor,
  id: string,
  input: UpdateEventTypeInput,
): Promise<EventType> {
  const errors = new FieldErrors();
  checkDescription(errors, input.description);
  checkSchema(errors, input.schema);
  errors.throwIfAny();
  const existing = await findOwnedEventType(app, actor, id);
  if (!existing) throw new NotFoundError("EventType", id);
  const data: Prisma.EventTypeUpdateInput = {};
  if (input.description != null) data.description = input.description;
  if (input.deprecated != null) data.deprecated = input.deprecated;
  if (input.schema === null) data.schema = Prisma.DbNull;
  else if (input.schema !== undefined) data.schema = input.schema as Prisma.InputJsonValue;
  return app.prisma.eventType.update({ where: { id }, data });
}
