import { type Endpoint, type EndpointStatus, Prisma } from "../generated/prisma/client.js";
import { isSensitiveHeader, REDACTED, validateCustomHeaders } from "../security/headers.js";
import { resolveAndCheckUrl } from "../security/url-policy.js";
import { generateSecret, secretFingerprint, secretProblem } from "../signing/index.js";
import type { Actor, App } from "./app.js";
import { ENDPOINT_UID_MAX, type EndpointRef, requireLiveEndpoint, UID_RE } from "./endpoint-refs.js";
import { ConflictError, FieldErrors } from "./errors.js";
import { eventTypeNameProblem, findVisibleEventTypes, isValidEventTypeName } from "./event-types.js";
import { newId } from "./ids.js";
import { resolveTenant, visibleTenants } from "./tenants.js";

export const ENDPOINT_DESCRIPTION_MAX = 1024;
export const ENDPOINT_EVENTS_MAX = 100;
export const ENDPOINT_RATE_LIMIT_MAX = 10_000;
export const SECRET_GRACE_MAX_SECONDS = 7 * 24 * 3600;

// ---------------------------------------------------------------------------------------------------------------
// Event filters: exact names, "*", or "prefix.*" (which matches every name below that prefix, at any depth)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Every filter entry that matches the event type `name`: the name itself, "*", and "p.*" for each proper
 * dot-prefix p. An endpoint matches when its `events` array shares an element with this list, which
 * Postgres answers from the array column (`events: { hasSome: eventFilterCandidates(name) }`).
 */
export function eventFilterCandidates(name: string): string[] {
  const out = [name, "*"];
  for (let i = name.indexOf("."); i !== -1; i = name.indexOf(".", i + 1)) out.push(`${name.slice(0, i)}.*`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Storage codecs (the dispatcher relies on these shapes)
// ---------------------------------------------------------------------------------------------------------------

/** One entry of Endpoint.headers. Sensitive values are stored as app.cipher tokens, never in plain. */
export interface StoredHeader {
  name: string;
  value: string;
  encrypted: boolean;
}

export interface HeaderInput {
  name: string;
  value: string;
}

function storedHeaders(json: unknown): StoredHeader[] {
  return Array.isArray(json) ? (json as StoredHeader[]) : [];
}

function encodeHeaders(app: App, headers: HeaderInput[]): StoredHeader[] {
  return headers.map(({ name, value }) =>
    isSensitiveHeader(name)
      ? { name, value: app.cipher.encrypt(value), encrypted: true }
      : { name, value, encrypted: false },
  );
}

/** Headers as the API shows them: sensitive values replaced by "[REDACTED]", nothing decrypted. */
export function redactedEndpointHeaders(json: unknown): HeaderInput[] {
  return storedHeaders(json).map((h) => ({
    name: h.name,
    value: h.encrypted || isSensitiveHeader(h.name) ? REDACTED : h.value,
  }));
}

/** Prisma `where` for secrets that sign right now. */
export function validSecretWhere(now = new Date()): Prisma.EndpointSecretWhereInput {
  return { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
}

function secretRow(app: App, secret: string) {
  return {
    id: newId("secret"),
    ciphertext: app.cipher.encrypt(secret),
    fingerprint: secretFingerprint(secret),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

export interface CreateEndpointInput {
  url: string;
  events: string[];
  description?: string | null;
  secret?: string | null;
  uid?: string | null;
  headers?: HeaderInput[] | null;
  includeChildTenants?: boolean | null;
  rateLimitPerSecond?: number | null;
  tenantId?: string | null;
}

export interface UpdateEndpointInput {
  url?: string | null;
  events?: string[] | null;
  description?: string | null;
  uid?: string | null;
  headers?: HeaderInput[] | null;
  includeChildTenants?: boolean | null;
  /** undefined leaves it; null removes the limit. */
  rateLimitPerSecond?: number | null;
  tenantId?: string | null;
  status?: EndpointStatus | null;
}

export interface RotateSecretInput {
  secret?: string | null;
  /** Default config.secretGraceMs; 0 ends the old secrets at once. */
  gracePeriodSeconds?: number | null;
}

/** Checks that need no database; anything undefined is not checked (partial updates). */
function checkPlainFields(
  errors: FieldErrors,
  input: Partial<Omit<CreateEndpointInput, "events" | "url">> & { events?: string[] | null },
): void {
  if (input.description != null && input.description.length > ENDPOINT_DESCRIPTION_MAX) {
    errors.add("input.description", `description must be at most ${ENDPOINT_DESCRIPTION_MAX} characters`);
  }
  if (input.secret != null) {
    const problem = secretProblem(input.secret);
    if (problem) errors.add("input.secret", problem);
  }
  if (input.uid != null) {
    if (input.uid.length === 0 || input.uid.length > ENDPOINT_UID_MAX) {
      errors.add("input.uid", `uid must be 1 to ${ENDPOINT_UID_MAX} characters`);
    } else if (!UID_RE.test(input.uid)) {
      errors.add("input.uid", "uid may contain only letters, digits and _ . : -");
    }
  }
  if (input.headers != null) {
    for (const issue of validateCustomHeaders(input.headers))
      errors.add(`input.${issue.path}`, issue.message);
  }
  const rate = input.rateLimitPerSecond;
  if (rate != null && (!Number.isInteger(rate) || rate < 1 || rate > ENDPOINT_RATE_LIMIT_MAX)) {
    errors.add(
      "input.rateLimitPerSecond",
      `rateLimitPerSecond must be 1 to ${ENDPOINT_RATE_LIMIT_MAX}, or null`,
    );
  }
  if (input.events != null) {
    if (input.events.length === 0) errors.add("input.events", "at least one event type filter is required");
    else if (input.events.length > ENDPOINT_EVENTS_MAX) {
      errors.add("input.events", `at most ${ENDPOINT_EVENTS_MAX} event type filters are allowed`);
    }
  }
}

/**
 * Each filter must be "*", "prefix.*" with a well-formed prefix, or the name of an event type the tenant can
 * use that is not deprecated. Returns the filters without duplicates, in the order given.
 */
async function checkEvents(
  app: App,
  errors: FieldErrors,
  tenantPath: string,
  events: string[],
): Promise<string[]> {
  if (events.length === 0 || events.length > ENDPOINT_EVENTS_MAX) return events;
  const exact = events.filter((e) => e !== "*" && !e.endsWith(".*") && isValidEventTypeName(e));
  const known = await findVisibleEventTypes(app, tenantPath, [...new Set(exact)]);
  events.forEach((entry, i) => {
    const path = `input.events.${i}`;
    if (entry === "*") return;
    if (entry.endsWith(".*")) {
      const problem = eventTypeNameProblem(entry.slice(0, -2));
      if (problem)
        errors.add(path, `${entry} is not a valid filter: ${problem.replace(/^name/, "its prefix")}`);
      return;
    }
    const problem = eventTypeNameProblem(entry);
    if (problem) {
      errors.add(path, `${JSON.stringify(entry)} is not a valid filter: ${problem}`);
      return;
    }
    const type = known.get(entry);
    if (!type) errors.add(path, `unknown event type ${entry}`);
    else if (type.deprecated) errors.add(path, `event type ${entry} is deprecated`);
  });
  return [...new Set(events)];
}

async function checkUrl(app: App, errors: FieldErrors, url: string): Promise<void> {
  const result = await resolveAndCheckUrl(url, app.urlPolicy, app.dnsLookup);
  if (!result.ok) errors.add("input.url", result.message);
}

function checkGrace(app: App, errors: FieldErrors, seconds: number | null | undefined): number {
  if (seconds == null) return app.config.secretGraceMs;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > SECRET_GRACE_MAX_SECONDS) {
    errors.add(
      "input.gracePeriodSeconds",
      `gracePeriodSeconds must be 0 to ${SECRET_GRACE_MAX_SECONDS} (7 days)`,
    );
    return 0;
  }
  return seconds * 1000;
}

/**
 * A client that read an endpoint and writes its headers back sends "[REDACTED]" for the sensitive ones;
 * that means "keep the value", never "store the literal text".
 */
function mergeRedacted(app: App, existing: unknown, incoming: HeaderInput[]): StoredHeader[] {
  const old = new Map(storedHeaders(existing).map((h) => [h.name.toLowerCase(), h]));
  return incoming.map((h) => {
    const kept = old.get(h.name.toLowerCase());
    if (h.value === REDACTED && kept && (kept.encrypted || isSensitiveHeader(kept.name))) {
      return isSensitiveHeader(h.name)
        ? {
            name: h.name,
            value: kept.encrypted ? kept.value : app.cipher.encrypt(kept.value),
            encrypted: true,
          }
        : {
            name: h.name,
            value: kept.encrypted ? app.cipher.decrypt(kept.value) : kept.value,
            encrypted: false,
          };
    }
    return encodeHeaders(app, [h])[0]!;
  });
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";
}

function uidConflict(uid: string): ConflictError {
  return new ConflictError(`An endpoint with uid ${uid} already exists in this tenant`, "input.uid");
}

async function assertUidFree(app: App, tenantId: string, uid: string, exceptId?: string): Promise<void> {
  const taken = await app.prisma.endpoint.findFirst({
    where: { tenantId, uid, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { id: true },
  });
  if (taken) throw uidConflict(uid);
}

// ---------------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------------

export interface EndpointFilter {
  status?: EndpointStatus | null;
  eventType?: string | null;
  tenantId?: string | null;
  includeDeleted?: boolean | null;
  uid?: string | null;
}

/** Prisma `where` for endpoints(filter): always confined to the actor's tenant and its descendants. */
export function endpointListWhere(actor: Actor, filter: EndpointFilter = {}): Prisma.EndpointWhereInput {
  const where: Prisma.EndpointWhereInput = { tenant: visibleTenants(actor) };
  if (!filter.includeDeleted) where.deletedAt = null;
  if (filter.status) where.status = filter.status;
  if (filter.tenantId != null) where.tenantId = filter.tenantId;
  if (filter.uid != null) where.uid = filter.uid;
  if (filter.eventType != null) where.events = { hasSome: eventFilterCandidates(filter.eventType) };
  return where;
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------------------------

interface Prepared {
  events: string[];
}

/** Everything a full endpoint definition (create, or upsert's replace) must satisfy. */
async function prepareFull(
  app: App,
  tenantPath: string,
  input: CreateEndpointInput,
  errors: FieldErrors,
): Promise<Prepared> {
  checkPlainFields(errors, input);
  const [events] = await Promise.all([
    checkEvents(app, errors, tenantPath, input.events),
    checkUrl(app, errors, input.url),
  ]);
  return { events };
}

export async function createEndpoint(
  app: App,
  actor: Actor,
  input: CreateEndpointInput,
): Promise<{ endpoint: Endpoint; secret: string }> {
  const tenant = await resolveTenant(app, actor, input.tenantId);
  const errors = new FieldErrors();
  const { events } = await prepareFull(app, tenant.path, input, errors);
  errors.throwIfAny();
  if (input.uid != null) await assertUidFree(app, tenant.id, input.uid);
  const secret = input.secret ?? generateSecret();
  try {
    const endpoint = await app.prisma.endpoint.create({
      data: {
        id: newId("endpoint"),
        tenantId: tenant.id,
        uid: input.uid ?? null,
        url: input.url,
        description: input.description ?? "",
        events,
        headers: encodeHeaders(app, input.headers ?? []) as unknown as Prisma.InputJsonValue,
        includeChildTenants: input.includeChildTenants ?? false,
        rateLimitPerSecond: input.rateLimitPerSecond ?? null,
        secrets: { create: secretRow(app, secret) },
      },
    });
    return { endpoint, secret };
  } catch (err) {
    if (isUniqueViolation(err) && input.uid != null) throw uidConflict(input.uid);
    throw err;
  }
}

/**
 * Create the endpoint with this uid, or make the existing one look exactly like `input` (fields left out
 * return to their defaults; status is kept). A secret given for an existing endpoint that is not already
 * its current one rotates to it with the default grace period.
 */
export async function upsertEndpoint(
  app: App,
  actor: Actor,
  uid: string,
  input: CreateEndpointInput,
): Promise<{ endpoint: Endpoint; created: boolean; secret: string | null }> {
  const errors = new FieldErrors();
  if (input.uid != null && input.uid !== uid)
    errors.add("input.uid", "input.uid must equal the uid argument");
  checkPlainFields(errors, { uid });
  errors.throwIfAny();
  const tenant = await resolveTenant(app, actor, input.tenantId);
  // A concurrent upsert may create the row between our read and our insert: then replace it instead.
  for (let attempt = 0; ; attempt++) {
    const existing = await app.prisma.endpoint.findFirst({
      where: { tenantId: tenant.id, uid, deletedAt: null },
    });
    if (!existing) {
      try {
        const made = await createEndpoint(app, actor, { ...input, uid, tenantId: tenant.id });
        return { ...made, created: true };
      } catch (err) {
        if (err instanceof ConflictError && attempt === 0) continue;
        throw err;
      }
    }
    const fieldErrors = new FieldErrors();
    const { events } = await prepareFull(app, tenant.path, { ...input, uid }, fieldErrors);
    fieldErrors.throwIfAny();
    const endpoint = await app.prisma.$transaction(async (tx) => {
      const updated = await tx.endpoint.update({
        where: { id: existing.id },
        data: {
          url: input.url,
          description: input.description ?? "",
          events,
          headers: mergeRedacted(
            app,
            existing.headers,
            input.headers ?? [],
          ) as unknown as Prisma.InputJsonValue,
          includeChildTenants: input.includeChildTenants ?? false,
          rateLimitPerSecond: input.rateLimitPerSecond ?? null,
        },
      });
      if (input.secret != null) {
        const current = await tx.endpointSecret.findMany({
          where: { endpointId: existing.id, expiresAt: null },
        });
        if (!current.some((s) => app.cipher.decrypt(s.ciphertext) === input.secret)) {
          await rotateInTx(app, tx, existing.id, input.secret, app.config.secretGraceMs);
        }
      }
      return updated;
    });
    return { endpoint, created: false, secret: null };
  }
}

export async function updateEndpoint(
  app: App,
  actor: Actor,
  ref: EndpointRef,
  input: UpdateEndpointInput,
): Promise<Endpoint> {
  const existing = await requireLiveEndpoint(app, actor, ref);
  const errors = new FieldErrors();
  checkPlainFields(errors, input);
  // Moving to another tenant re-checks the kept filters against what that tenant can use.
  const tenant =
    input.tenantId != null && input.tenantId !== existing.tenantId
      ? await resolveTenant(app, actor, input.tenantId)
      : null;
  const tenantPath =
    tenant?.path ?? (await app.prisma.tenant.findUniqueOrThrow({ where: { id: existing.tenantId } })).path;
  const eventsToCheck = input.events ?? (tenant ? existing.events : null);
  const [events] = await Promise.all([
    eventsToCheck ? checkEvents(app, errors, tenantPath, eventsToCheck) : Promise.resolve(null),
    input.url != null ? checkUrl(app, errors, input.url) : Promise.resolve(),
  ]);
  errors.throwIfAny();
  const tenantId = tenant?.id ?? existing.tenantId;
  const uid = input.uid ?? existing.uid;
  if (uid != null && (input.uid != null || tenant)) await assertUidFree(app, tenantId, uid, existing.id);

  const data: Prisma.EndpointUncheckedUpdateInput = {};
  if (tenant) data.tenantId = tenant.id;
  if (input.url != null) data.url = input.url;
  if (input.events != null && events) data.events = events;
  if (input.description != null) data.description = input.description;
  if (input.uid != null) data.uid = input.uid;
  if (input.headers != null) {
    data.headers = mergeRedacted(app, existing.headers, input.headers) as unknown as Prisma.InputJsonValue;
  }
  if (input.includeChildTenants != null) data.includeChildTenants = input.includeChildTenants;
  if (input.rateLimitPerSecond !== undefined) data.rateLimitPerSecond = input.rateLimitPerSecond;
  if (input.status === "DISABLED") {
    data.status = "DISABLED";
    data.disabledReason = "MANUAL";
  } else if (input.status === "ENABLED") {
    // A fresh start: the failure clock that disabled it must not disable it again straight away.
    data.status = "ENABLED";
    data.disabledReason = null;
    data.failingSince = null;
  }
  try {
    return await app.prisma.endpoint.update({ where: { id: existing.id }, data });
  } catch (err) {
    if (isUniqueViolation(err) && uid != null) throw uidConflict(uid);
    throw err;
  }
}

/**
 * Soft delete: the row, its attempts and deliveries stay readable; no new deliveries are made for it. The uid
 * is released so the tenant can create (or upsert) a new endpoint under it.
 */
export async function deleteEndpoint(app: App, actor: Actor, ref: EndpointRef): Promise<Endpoint> {
  const existing = await requireLiveEndpoint(app, actor, ref);
  return app.prisma.endpoint.update({
    where: { id: existing.id },
    data: { deletedAt: new Date(), uid: null },
  });
}

type Tx = Prisma.TransactionClient;

async function rotateInTx(
  app: App,
  tx: Tx,
  endpointId: string,
  secret: string,
  graceMs: number,
): Promise<void> {
  const now = new Date();
  // Taking the endpoint's row lock first serialises rotations of one endpoint: otherwise two concurrent
  // rotations could each leave their new secret current.
  await tx.endpoint.update({ where: { id: endpointId }, data: { updatedAt: now } });
  await tx.endpointSecret.deleteMany({ where: { endpointId, expiresAt: { lte: now } } });
  if (graceMs === 0) {
    await tx.endpointSecret.deleteMany({ where: { endpointId } });
  } else {
    // Every older secret ends at most `grace` from now; one already ending sooner keeps its earlier end.
    const until = new Date(now.getTime() + graceMs);
    await tx.endpointSecret.updateMany({
      where: { endpointId, OR: [{ expiresAt: null }, { expiresAt: { gt: until } }] },
      data: { expiresAt: until },
    });
  }
  await tx.endpointSecret.create({ data: { endpointId, ...secretRow(app, secret) } });
}

export async function rotateEndpointSecret(
  app: App,
  actor: Actor,
  ref: EndpointRef,
  input: RotateSecretInput = {},
): Promise<{ endpoint: Endpoint; secret: string }> {
  const errors = new FieldErrors();
  if (input.secret != null) {
    const problem = secretProblem(input.secret);
    if (problem) errors.add("input.secret", problem);
  }
  const graceMs = checkGrace(app, errors, input.gracePeriodSeconds);
  errors.throwIfAny();
  const existing = await requireLiveEndpoint(app, actor, ref);
  const secret = input.secret ?? generateSecret();
  await app.prisma.$transaction((tx) => rotateInTx(app, tx, existing.id, secret, graceMs));
  const endpoint = await app.prisma.endpoint.findUniqueOrThrow({ where: { id: existing.id } });
  return { endpoint, secret };
}
