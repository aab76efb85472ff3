/**
 * A tenant's delivery profile: what its deliveries look like on the wire beyond the payload, so that
 * a platform moving onto Hookgate keeps the headers its receivers already check. Each setting is
 * stored on the tenant (NULL = not set there) and inherited: the nearest tenant on the path from the
 * tenant up to the root that sets a value wins, else the default (which is what every tenant that
 * sets nothing gets, unchanged).
 */
import type { Tenant } from "../generated/prisma/client.js";
import { isReservedHeader } from "../security/headers.js";
import type { Actor, App } from "./app.js";
import { FieldErrors } from "./errors.js";
import { ancestorIds, resolveTenant } from "./tenants.js";

export const DEFAULT_SIGNATURE_HEADER = "hookgate-signature";
export const DEFAULT_USER_AGENT_PRODUCT = "Hookgate";
/** Bound on both names (a header name; a User-Agent product token). */
export const PROFILE_NAME_MAX = 64;

/** The headers of the Standard Webhooks scheme, sent unless a profile turns them off. */
export const STANDARD_WEBHOOKS_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

export interface DeliveryProfile {
  /** Lower-cased header name carrying `t=<ts>,v1=<hex>`. */
  signatureHeader: string;
  /** Sent as `<product>/<version>` in User-Agent. */
  userAgentProduct: string;
  standardWebhooksHeaders: boolean;
}

/** The settings as one tenant row stores them (null = inherit). */
export type ProfileSettings = {
  [K in keyof DeliveryProfile]: DeliveryProfile[K] | null;
};

export const DEFAULT_PROFILE: Readonly<DeliveryProfile> = Object.freeze({
  signatureHeader: DEFAULT_SIGNATURE_HEADER,
  userAgentProduct: DEFAULT_USER_AGENT_PRODUCT,
  standardWebhooksHeaders: true,
});

// RFC 7230 §3.2.6 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The effective profile from the settings of a tenant's chain, root first (as ancestorIds orders
 * them): the last chain entry that sets a value wins.
 */
export function effectiveProfile(chain: readonly ProfileSettings[]): DeliveryProfile {
  const out: DeliveryProfile = { ...DEFAULT_PROFILE };
  for (const s of chain) {
    if (s.signatureHeader != null) out.signatureHeader = s.signatureHeader;
    if (s.userAgentProduct != null) out.userAgentProduct = s.userAgentProduct;
    if (s.standardWebhooksHeaders != null) out.standardWebhooksHeaders = s.standardWebhooksHeaders;
  }
  return out;
}

/** A tenant's effective profile, read from its chain in one query. */
export async function loadDeliveryProfile(app: App, tenantPath: string): Promise<DeliveryProfile> {
  const ids = ancestorIds(tenantPath);
  const rows = await app.prisma.tenant.findMany({
    where: { id: { in: ids } },
    select: { id: true, signatureHeader: true, userAgentProduct: true, standardWebhooksHeaders: true },
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return effectiveProfile(ids.flatMap((id) => byId.get(id) ?? []));
}

/** Each field: omitted = unchanged, null = cleared (inherit again), a value = set on this tenant. */
export type DeliveryProfileInput = Partial<ProfileSettings>;

function validateSignatureHeader(errors: FieldErrors, path: string, name: string): void {
  if (name.length === 0 || name.length > PROFILE_NAME_MAX) {
    errors.add(path, `A header name must be 1 to ${PROFILE_NAME_MAX} characters.`);
  } else if (!TOKEN.test(name)) {
    errors.add(
      path,
      "A header name may contain only letters, digits and !#$%&'*+-.^_`|~ (no spaces or colons).",
    );
  } else if (name.toLowerCase() !== DEFAULT_SIGNATURE_HEADER && isReservedHeader(name)) {
    errors.add(
      path,
      `The header ${name} is reserved (hop-by-hop, or set by Hookgate itself); choose another name.`,
    );
  }
}

function validateProduct(errors: FieldErrors, path: string, product: string): void {
  if (product.length === 0 || product.length > PROFILE_NAME_MAX) {
    errors.add(path, `A user-agent product name must be 1 to ${PROFILE_NAME_MAX} characters.`);
  } else if (!TOKEN.test(product)) {
    errors.add(
      path,
      "A user-agent product name may contain only letters, digits and !#$%&'*+-.^_`|~ (no spaces or slashes).",
    );
  }
}

/**
 * Sets (or clears) settings on a tenant the actor can see and returns the tenant with its new
 * effective profile. Takes effect from the next delivery the dispatcher prepares.
 */
export async function updateDeliveryProfile(
  app: App,
  actor: Actor,
  tenantId: string | null | undefined,
  input: DeliveryProfileInput,
): Promise<{ tenant: Tenant; profile: DeliveryProfile }> {
  const errors = new FieldErrors();
  if (input.signatureHeader != null)
    validateSignatureHeader(errors, "input.signatureHeader", input.signatureHeader);
  if (input.userAgentProduct != null)
    validateProduct(errors, "input.userAgentProduct", input.userAgentProduct);
  errors.throwIfAny();
  const target = await resolveTenant(app, actor, tenantId);
  const data: Partial<ProfileSettings> = {};
  if (input.signatureHeader !== undefined)
    data.signatureHeader = input.signatureHeader?.toLowerCase() ?? null;
  if (input.userAgentProduct !== undefined) data.userAgentProduct = input.userAgentProduct;
  if (input.standardWebhooksHeaders !== undefined)
    data.standardWebhooksHeaders = input.standardWebhooksHeaders;
  const tenant = await app.prisma.tenant.update({ where: { id: target.id }, data });
  return { tenant, profile: await loadDeliveryProfile(app, tenant.path) };
}
