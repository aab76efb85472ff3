import type { EndpointFieldsFragment } from "../client/index.js";
import { type ClientOptions, printRecord } from "./client.js";

/** Every field of an endpoint, in the order `endpoints get` and the mutations show them. */
export const DETAIL = [
  "id",
  "tenantId",
  "uid",
  "url",
  "description",
  "events",
  "status",
  "disabledReason",
  "headers",
  "includeChildTenants",
  "rateLimitPerSecond",
  "secrets",
  "createdAt",
  "updatedAt",
  "deletedAt",
];

/** The endpoint as a flat record for tables: headers and secrets as readable text. */
export function endpointRecord(e: EndpointFieldsFragment): Record<string, unknown> {
  return {
    ...e,
    headers: e.headers.map((h) => `${h.name}: ${h.value}`),
    secrets: e.secrets.map((s) => (s.expiresAt ? `${s.fingerprint} (until ${s.expiresAt})` : s.fingerprint)),
  };
}

/** Prints a created or rotated endpoint with its secret, which the API shows this once. */
export async function printWithSecret(
  opts: ClientOptions,
  endpoint: EndpointFieldsFragment,
  secret: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await printRecord(opts, { ...endpointRecord(endpoint), secret }, [...DETAIL, "secret"], {
    ...extra,
    endpoint,
    secret,
  });
  if (!opts.json) process.stderr.write("the signing secret is shown only this once: store it now\n");
}
