/**
 * Helpers for the security matrices (test/integration/security-*.test.ts): raw HTTP requests
 * that bypass the friendly `gql` helper, table row counts to prove that a refused request
 * wrote nothing, and the expectations every refusal shares.
 */
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
