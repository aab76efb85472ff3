import { isDeepStrictEqual } from "node:util";
import type { ErrorObject } from "ajv";
import type { Event } from "../generated/prisma/client.js";
import type { Actor, App } from "./app.js";
import { ConflictError, FieldErrors, ValidationError } from "./errors.js";
import { writeCheckedEvent } from "./event-checked-writes.js";
import {
  batchTargets,
  cachedTargets,
  forgetTargets,
  type PublishTargets,
  publishTargets,
  type TargetsLookup,
  targetsScope,
} from "./event-targets.js";
import { compileEventTypeSchema } from "./event-types.js";
import { announce, countPublished, type InsertEventInput, writeEvent, writeEvents } from "./event-writes.js";
import { resolveTenantRef } from "./tenants.js";

export const IDEMPOTENCY_KEY_MAX = 255;
/** More schema errors than this are summarised: nobody reads the 500th. */
const MAX_PAYLOAD_ERRORS = 50;

export interface PublishEventInput {
  type: string;
  payload: unknown;
  idempotencyKey?: string | null;
  tenantId?: string | null;
}

export interface PublishEventResult {
  event: Event;
  deliveryCount: number;
}

/**
 * Publishes an event: validates it, then writes the event and one delivery per matching endpoint in ONE
 * statement (so either all of it exists or none of it); after its commit, a PENDING signal per delivery
 * and a dispatcher wake-up are queued (Database.signal). Nothing is lost if the process dies after that
 * statement commits: the signals are advisory, dispatchers also poll.
 *
 * Idempotency: the same key within a tenant with the same type and payload returns the original event and
 * its delivery count and creates nothing; with another type or payload it is a ConflictError naming the
 * original event (the second event would otherwise be dropped silently). Two racing calls are settled by
 * the unique index (ON CONFLICT DO NOTHING waits for the other insert to commit), and the loser reads the
 * winner's event.
 */
export async function publishEvent(
  app: App,
  actor: Actor,
  input: PublishEventInput,
): Promise<PublishEventResult> {
  const targets = cachedTargets(app);
  for (let conflicts = 0; ; ) {
    const prepared = await preparePublish(app, actor, input, "input", targets);
    if (prepared.kind === "existing") return prepared.result;
    const { write } = prepared;
    const row = write.check
      ? await writeCheckedEvent(app, { ...write, check: write.check })
      : await writeEvent(app.db.query.bind(app.db), write, "hookgate_insert_event");
    // The cached targets changed meanwhile: nothing was written; again from a fresh read (not cached).
    if (row === "stale") {
      forgetTargets(app, write.tenantId, write.type);
      continue;
    }
    // Lost a race for the idempotency key: the winner's event is there now (compared on the next turn).
    if (!row) {
      if (conflicts++ === 0) continue;
      throw new Error("idempotency key conflict, but the original event is not visible");
    }
    countPublished(app, row);
    return announce(app, write, row);
  }
}

/** Most events one publishEvents call takes. */
export const PUBLISH_BATCH_MAX = 100;

export interface PublishEventsItem extends PublishEventResult {
  /** The event existed already (its idempotency key was used before with the same type and payload). */
  duplicate: boolean;
}

/**
 * Publishes up to PUBLISH_BATCH_MAX events in ONE transaction: every event is validated first (all
 * problems are reported together, with paths input.events.<i>...), then all are written or none is, in
 * one statement (writeEvents). The endpoints of each (tenant, type) are read once per batch.
 * The result has one item per input, in order. Repeated idempotency keys (earlier or within the batch)
 * follow publishEvent's rule.
 */
export async function publishEvents(
  app: App,
  actor: Actor,
  inputs: readonly PublishEventInput[],
): Promise<PublishEventsItem[]> {
  if (inputs.length === 0 || inputs.length > PUBLISH_BATCH_MAX) {
    throw ValidationError.field(
      "input.events",
      `events must hold 1 to ${PUBLISH_BATCH_MAX} events, got ${inputs.length}; publish more in several calls`,
    );
  }
  for (let attempt = 0; ; attempt++) {
    const errors = new FieldErrors();
    const prepared: (Prepared | null)[] = [];
    const targets = batchTargets(app);
    for (const [i, input] of inputs.entries()) {
      try {
        prepared.push(await preparePublish(app, actor, input, `input.events.${i}`, targets));
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        for (const e of err.fieldErrors) errors.add(e.path, e.message);
        prepared.push(null);
      }
    }
    errors.throwIfAny();
    const items = prepared as Prepared[];
    const firstOfKey = new Map<string, number>();
    items.forEach((p, i) => {
      if (p.kind !== "new" || p.write.idempotencyKey === null) return;
      const k = `${p.write.tenantId}\u0000${p.write.idempotencyKey}`;
      const first = firstOfKey.get(k);
      if (first === undefined) firstOfKey.set(k, i);
      else if (!sameEvent(items[first]!, p)) {
        throw new ConflictError(
          `events ${first} and ${i} use the idempotency key ${p.write.idempotencyKey} with different types or payloads`,
          `input.events.${i}.idempotencyKey`,
        );
      }
    });
    const writes: InsertEventInput[] = [];
    const writeIndex: number[] = [];
    for (const [i, p] of items.entries()) {
      if (p.kind !== "new" || !isFirstOfKey(firstOfKey, p, i)) continue;
      writes.push(p.write);
      writeIndex.push(i);
    }
    const rows = writes.length > 0 ? await writeEvents(app, writes) : [];
    const written = rows && new Map(rows.map((row, k) => [writeIndex[k]!, row]));
    if (!written) {
      if (attempt === 0) continue;
      throw new Error("idempotency key conflict, but the original event is not visible");
    }
    const results: PublishEventsItem[] = [];
    for (const [i, p] of items.entries()) {
      if (p.kind === "existing") {
        results.push({ ...p.result, duplicate: true });
        continue;
      }
      const row = written.get(i);
      if (row) {
        countPublished(app, row);
        results.push({ ...announce(app, p.write, row), duplicate: false });
      } else {
        const first = firstOfKey.get(`${p.write.tenantId}\u0000${p.write.idempotencyKey}`)!;
        results.push({ ...results[first]!, duplicate: true });
      }
    }
    return results;
  }
}

function isFirstOfKey(firstOfKey: Map<string, number>, p: Extract<Prepared, { kind: "new" }>, i: number) {
  if (p.write.idempotencyKey === null) return true;
  return firstOfKey.get(`${p.write.tenantId}\u0000${p.write.idempotencyKey}`) === i;
}

function sameEvent(a: Prepared, b: Extract<Prepared, { kind: "new" }>): boolean {
  return a.kind === "new" && a.write.type === b.write.type && isDeepStrictEqual(a.payload, b.payload);
}

type Prepared =
  | { kind: "existing"; result: PublishEventResult }
  | { kind: "new"; write: InsertEventInput; payload: unknown };

/**
 * Everything publishing checks before it writes: the fields, the tenant, the event type (visible, not
 * deprecated, its schema), the idempotency key (an earlier event with it is returned, or refused when it
 * differs). Field paths start with `prefix` ("input" for publishEvent).
 */
async function preparePublish(
  app: App,
  actor: Actor,
  input: PublishEventInput,
  prefix = "input",
  targets: TargetsLookup = (tenant, type) => publishTargets(app, tenant, type),
): Promise<Prepared> {
  const errors = new FieldErrors();
  const key = input.idempotencyKey ?? null;
  if (key !== null) {
    if (key.length === 0) errors.add(`${prefix}.idempotencyKey`, "idempotencyKey must not be empty");
    else if (key.length > IDEMPOTENCY_KEY_MAX)
      errors.add(
        `${prefix}.idempotencyKey`,
        `idempotencyKey must be at most ${IDEMPOTENCY_KEY_MAX} characters`,
      );
  }
  if (typeof input.type !== "string" || input.type.length === 0) {
    errors.add(`${prefix}.type`, "type must not be empty");
  }
  const serialized = serializePayload(app, errors, `${prefix}.payload`, input.payload);
  errors.throwIfAny();

  const tenant = await resolveTenantRef(app, actor, input.tenantId);
  if (key !== null) {
    const original = await findByIdempotencyKey(app, tenant.id, key);
    if (original) {
      const { event } = original;
      if (event.type !== input.type || !isDeepStrictEqual(event.payload, JSON.parse(serialized))) {
        throw new ConflictError(
          `The idempotency key ${key} was used for event ${event.id} with a different ${event.type !== input.type ? "type" : "payload"}; use a new key for a new event`,
          `${prefix}.idempotencyKey`,
        );
      }
      return { kind: "existing", result: original };
    }
  }

  let found = await targets(tenant, input.type);
  let refusal = typeRefusal(found, input, prefix);
  // A refusal is never based on a cached answer alone: the type may have changed since.
  if (refusal && found.cached) {
    found = await targets(tenant, input.type, { fresh: true });
    refusal = typeRefusal(found, input, prefix);
  }
  if (refusal) throw refusal;
  const { endpointIds, cached } = found;
  return {
    kind: "new",
    payload: input.payload,
    write: {
      tenantId: tenant.id,
      type: input.type,
      payloadJson: serialized,
      idempotencyKey: key,
      test: false,
      trigger: "SCHEDULED",
      endpointIds,
      ...(cached ? { check: { cached, scope: targetsScope(tenant, input.type) } } : {}),
    },
  };
}

/** Why the event type of `found` refuses this publish (unknown, deprecated, payload schema), or null. */
function typeRefusal(
  found: PublishTargets,
  input: PublishEventInput,
  prefix: string,
): ValidationError | null {
  const { eventType } = found;
  if (!eventType) return ValidationError.field(`${prefix}.type`, `Unknown event type "${input.type}"`);
  if (eventType.deprecated) {
    return ValidationError.field(`${prefix}.type`, `The event type "${input.type}" is deprecated`);
  }
  let validate: ReturnType<typeof compileEventTypeSchema>;
  try {
    validate = compileEventTypeSchema(eventType);
  } catch (err) {
    return ValidationError.field(
      `${prefix}.type`,
      `The event type's JSON Schema cannot be used: ${(err as Error).message}`,
    );
  }
  if (validate && !validate(input.payload)) return payloadSchemaError(validate.errors ?? [], prefix);
  return null;
}

/**
 * The payload as JSON text, checked for what Postgres jsonb cannot store (NUL characters, unpaired
 * surrogates) and against maxPayloadBytes (UTF-8 bytes of the serialised JSON; exactly the limit is fine).
 */
export function serializePayload(app: App, errors: FieldErrors, path: string, payload: unknown): string {
  let bad: string | null = null;
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(payload, (k, v) => {
      if (bad === null) {
        if (k.includes("\0") || (typeof v === "string" && v.includes("\0")))
          bad = "payload must not contain NUL (\\u0000) characters";
        else if (hasLoneSurrogate(k) || (typeof v === "string" && hasLoneSurrogate(v)))
          bad = "payload must not contain unpaired surrogate characters";
      }
      return v;
    });
  } catch (err) {
    errors.add(path, `payload is not serialisable as JSON: ${(err as Error).message}`);
    return "";
  }
  if (serialized === undefined) {
    errors.add(path, "payload must be a JSON value");
    return "";
  }
  if (bad !== null) errors.add(path, bad);
  const size = Buffer.byteLength(serialized, "utf8");
  if (size > app.config.maxPayloadBytes) {
    errors.add(path, `payload is ${size} bytes as JSON; at most ${app.config.maxPayloadBytes} are allowed`);
  }
  return serialized;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

function payloadSchemaError(ajvErrors: ErrorObject[], prefix = "input"): ValidationError {
  const list = ajvErrors.slice(0, MAX_PAYLOAD_ERRORS).map((e) => ({
    path: `${prefix}.payload${pointerToDots(e.instancePath)}`,
    message: `payload${e.instancePath ? ` at ${e.instancePath}` : ""} ${e.message ?? "is invalid"}`,
  }));
  if (ajvErrors.length > MAX_PAYLOAD_ERRORS) {
    list.push({
      path: `${prefix}.payload`,
      message: `and ${ajvErrors.length - MAX_PAYLOAD_ERRORS} more schema errors`,
    });
  }
  return new ValidationError(list, "The payload does not match the event type's schema");
}

/** "/items/0/a~1b" -> ".items.0.a/b" (JSON Pointer unescaped). */
function pointerToDots(pointer: string): string {
  if (!pointer) return "";
  return pointer
    .split("/")
    .slice(1)
    .map((p) => `.${p.replaceAll("~1", "/").replaceAll("~0", "~")}`)
    .join("");
}

async function findByIdempotencyKey(
  app: App,
  tenantId: string,
  idempotencyKey: string,
): Promise<PublishEventResult | null> {
  const event = await app.prisma.event.findUnique({
    where: { tenantId_idempotencyKey: { tenantId, idempotencyKey } },
  });
  if (!event) return null;
  const deliveryCount = await app.prisma.delivery.count({ where: { eventId: event.id } });
  return { event, deliveryCount };
}
