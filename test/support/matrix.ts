/**
 * Helpers for the security matrices (test/integration/security-*.test.ts): raw HTTP requests
 * that bypass the friendly `gql` helper, table row counts to prove that a refused request
 * wrote nothing, and the expectations every refusal shares.
 */
import {
  type GraphQLArgument,
  GraphQLEnumType,
  type GraphQLField,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLScalarType,
  type GraphQLSchema,
  getNamedType,
  isLeafType,
} from "graphql";
import { expect } from "vitest";
import type { TestHookgate } from "./hookgate.js";

/** The tables a request could write to. */
export const TABLES = [
  "tenants",
  "api_keys",
  "event_types",
  "endpoints",
  "endpoint_secrets",
  "events",
  "deliveries",
  "attempts",
] as const;

export type RowCounts = Record<(typeof TABLES)[number], number>;

export async function countRows(h: TestHookgate): Promise<RowCounts> {
  const sql = TABLES.map((t) => `(SELECT count(*)::int FROM "${t}") AS "${t}"`).join(", ");
  const [row] = await h.database.db.query<RowCounts>(`SELECT ${sql}`);
  return row!;
}

/**
 * Runs `fn` and asserts that no table gained or lost a row meanwhile. Row counts alone miss
 * updates, so tests that refuse an update also compare the row itself.
 */
export async function expectNothingWritten<T>(h: TestHookgate, fn: () => Promise<T>): Promise<T> {
  const before = await countRows(h);
  const result = await fn();
  expect(await countRows(h)).toEqual(before);
  return result;
}

/** Every row of every table (api_keys without last_used_at, which authentication itself updates). */
export async function snapshotRows(h: TestHookgate): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) {
    const rows = await h.database.db.query<{ row: unknown }>(
      `SELECT to_jsonb(x) - 'last_used_at' AS row FROM "${t}" x ORDER BY id`,
    );
    out[t] = rows.map((r) => r.row);
  }
  return out;
}

/** Runs `fn` and asserts that no row of any table was added, removed or changed meanwhile. */
export async function expectNothingChanged<T>(h: TestHookgate, fn: () => Promise<T>): Promise<T> {
  const before = await snapshotRows(h);
  const result = await fn();
  expect(await snapshotRows(h)).toEqual(before);
  return result;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: any;
}

export interface RawRequest {
  method?: string;
  /** Appended to /graphql (e.g. "?query=..."). */
  search?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | FormData | ReadableStream<Uint8Array>;
}

/** One HTTP request to /graphql exactly as described: no headers are added. */
export async function rawRequest(h: TestHookgate, req: RawRequest): Promise<RawResponse> {
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method ?? "POST",
    headers: req.headers ?? {},
  };
  if (req.body !== undefined) init.body = req.body as BodyInit;
  if (req.body instanceof ReadableStream) init.duplex = "half";
  const res = await fetch(`${h.graphqlUrl}${req.search ?? ""}`, {
    ...init,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Headers of a well-formed authenticated JSON POST. */
export function jsonHeaders(key: string | null, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": "application/json",
    ...(key ? { authorization: `Bearer ${key}` } : {}),
    ...extra,
  };
}

/** A request id the server generated (a UUID) or echoed. */
export function expectRequestId(res: { headers: Headers }, echoed?: string): void {
  const id = res.headers.get("x-request-id");
  if (echoed) expect(id).toBe(echoed);
  else expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
}

/** The one top-level error of a refused operation, with no data. */
export function expectOnlyError(
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] },
  expected: { message: string | RegExp; code?: string | null },
): void {
  expect(body.errors, JSON.stringify(body)).toHaveLength(1);
  const [error] = body.errors!;
  if (typeof expected.message === "string") expect(error!.message).toBe(expected.message);
  else expect(error!.message).toMatch(expected.message);
  if (expected.code !== undefined) expect(error!.extensions?.code ?? null).toBe(expected.code);
  expect(body.data ?? null).toBeNull();
}

// ---------------------------------------------------------------------------------------------
// Schema walking: derives rows from the built schema (every root field, the scopes its authScopes
// (Pothos scope-auth options) mention, a minimal call with dummy arguments), so new fields are
// covered without touching the tests.

export const ALL_SCOPES = [
  "ADMIN",
  "ENDPOINTS_READ",
  "ENDPOINTS_WRITE",
  "EVENTS_PUBLISH",
  "DELIVERIES_READ",
  "DELIVERIES_WRITE",
] as const;
export type Scope = (typeof ALL_SCOPES)[number];

export type OperationKind = "query" | "mutation" | "subscription";

export interface RootField {
  kind: OperationKind;
  name: string;
  field: GraphQLField<unknown, unknown>;
  /** The field's authScopes option as written, or undefined when it has none. */
  authScopes: unknown;
}

export function rootFields(schema: GraphQLSchema): RootField[] {
  const out: RootField[] = [];
  for (const [kind, type] of [
    ["query", schema.getQueryType()],
    ["mutation", schema.getMutationType()],
    ["subscription", schema.getSubscriptionType()],
  ] as const) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const options = (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions;
      out.push({ kind, name: field.name, field, authScopes: options?.authScopes });
    }
  }
  return out;
}

/**
 * Evaluates a Pothos scope map for a caller holding `held` (ADMIN implies all, as in the
 * server). A map grants access when ANY entry does, `$all` when every entry does. Functions
 * cannot be analysed and throw, so that the test is updated along with such a field.
 */
export function grants(map: unknown, held: ReadonlySet<string>, authenticated = true): boolean {
  if (typeof map !== "object" || map === null) {
    throw new Error(`cannot analyse authScopes ${String(map)}: expected a scope map`);
  }
  const entry = (key: string, value: unknown): boolean => {
    switch (key) {
      case "$any":
        return grants(value, held, authenticated);
      case "$all":
        return Object.entries(value as object).every(([k, v]) => entry(k, v));
      case "$granted":
        throw new Error("cannot analyse $granted");
      case "authenticated":
        return value === true ? authenticated : true;
      case "scope":
        return authenticated && (held.has("ADMIN") || held.has(value as string));
      default:
        throw new Error(`unknown auth scope "${key}"`);
    }
  };
  return Object.entries(map).some(([k, v]) => entry(k, v));
}

/** Every scope a map names (at any depth). */
export function mentionedScopes(map: unknown): Scope[] {
  const out = new Set<Scope>();
  const walk = (m: unknown) => {
    if (typeof m !== "object" || m === null) return;
    for (const [k, v] of Object.entries(m)) {
      if (k === "scope") out.add(v as Scope);
      else if (k.startsWith("$")) walk(v);
    }
  };
  walk(map);
  return [...out];
}

/** A minimal value of `type`: required input fields only, "x" for IDs and strings. */
export function dummyValue(type: GraphQLInputType): unknown {
  if (type instanceof GraphQLNonNull) return dummyValue(type.ofType);
  if (type instanceof GraphQLList) return [dummyValue(type.ofType)];
  if (type instanceof GraphQLEnumType) return type.getValues()[0]!.value;
  if (type instanceof GraphQLInputObjectType) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) {
      if (f.type instanceof GraphQLNonNull && f.defaultValue === undefined) out[f.name] = dummyValue(f.type);
    }
    return out;
  }
  if (type instanceof GraphQLScalarType) {
    switch (type.name) {
      case "ID":
      case "String":
        return "x";
      case "Int":
      case "Float":
        return 1;
      case "Boolean":
        return true;
      case "DateTime":
        return "2020-01-01T00:00:00.000Z";
      case "JSON":
        return {};
    }
  }
  throw new Error(`no dummy value for ${String(type)}`);
}

/**
 * `<kind> Call($a: T!, ...) { field(a: $a, ...) { __typename } }` with the required arguments
 * (plus `overrides`, which may name optional ones too) as variables.
 */
export function minimalCall(
  root: RootField,
  overrides: Record<string, unknown> = {},
): { query: string; variables: Record<string, unknown> } {
  const args = root.field.args.filter(
    (a: GraphQLArgument) =>
      a.name in overrides || (a.type instanceof GraphQLNonNull && a.defaultValue === undefined),
  );
  const variables: Record<string, unknown> = {};
  for (const a of args) variables[a.name] = a.name in overrides ? overrides[a.name] : dummyValue(a.type);
  const defs = args.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const call = args.map((a) => `${a.name}: $${a.name}`).join(", ");
  const selection = isLeafType(getNamedType(root.field.type)) ? "" : " { __typename }";
  const query = `${root.kind} Call${defs ? `(${defs})` : ""} { ${root.name}${call ? `(${call})` : ""}${selection} }`;
  return { query, variables };
}
