/**
 * Per-endpoint request templates: what every request to one endpoint shares (decrypted custom headers,
 * the recorded, redacted copy, the signer, the names its tenant's delivery profile gives the signature
 * headers and User-Agent), built once per endpoint and again only when its stored headers, valid
 * secrets or profile change. Also the envelope receivers get, built once per event.
 */
import type { App } from "../domain/app.js";
import {
  type DeliveryProfile,
  effectiveProfile,
  STANDARD_WEBHOOKS_HEADERS,
} from "../domain/delivery-profile.js";
import { envelopeOf } from "../domain/envelope.js";
import { isSensitiveHeader, REDACTED } from "../security/headers.js";
import { Signer } from "../signing/index.js";
import { HOOKGATE_VERSION } from "../version.js";
import type { ClaimedRow, EventRow } from "./queue.js";

/** An event's envelope, as sent and signed (bytes); shared by its deliveries. */
export interface Body {
  bytes: Buffer;
  /** A test event (testEndpoint): marked by TEST_HEADER and a top-level "test": true. */
  test: boolean;
}

/** Sent (value "1") on test events only, so receivers can tell them apart without parsing the body. */
export const TEST_HEADER = "hookgate-test";

export interface EndpointTemplate {
  /** The stored headers JSON and the valid secrets' ciphertexts it was built from. */
  headersText: string;
  secrets: string[];
  /** The effective delivery profile it was built with, as one string. */
  profileKey: string;
  /** Per header name Signer.headers sets: the name it is sent under, or absent when not sent. */
  signatureNames: Record<string, string>;
  /** The request headers but the signature ones, flat (name, value, ...) as undici takes them. */
  headerList: string[];
  recorded: Record<string, string>;
  /** Per signature header name as sent: whether its value is recorded as REDACTED. */
  redactSignature: Record<string, boolean>;
  signer: Signer | null;
  /** Why requests to it cannot be prepared (e.g. no valid secret), else null. */
  error: string | null;
}

/** Signer.headers' name for the t=,v1= header, which the profile may rename. */
const SIGNER_TV1_HEADER = "hookgate-signature";
const CACHE_LIMIT = 10_000;

export class Templates {
  private readonly plainCache = new Map<string, string>();
  private readonly templates = new Map<string, EndpointTemplate>();

  constructor(private readonly cipher: App["cipher"]) {}

  /** The endpoint's request template, rebuilt when its stored headers or valid secrets changed. */
  get(row: ClaimedRow): EndpointTemplate {
    const headersText = typeof row.headers === "string" ? row.headers : JSON.stringify(row.headers ?? null);
    const secrets = row.secrets ?? [];
    const profile = effectiveProfile([
      {
        signatureHeader: row.signature_header,
        userAgentProduct: row.user_agent_product,
        standardWebhooksHeaders: row.standard_webhooks_headers,
      },
    ]);
    const profileKey = `${profile.signatureHeader} ${profile.userAgentProduct} ${profile.standardWebhooksHeaders}`;

    const cached = this.templates.get(row.endpoint_id);
    if (
      cached &&
      cached.headersText === headersText &&
      cached.profileKey === profileKey &&
      sameList(cached.secrets, secrets)
    )
      return cached;

    const template = this.build(headersText, secrets, profile, profileKey);
    if (this.templates.size >= CACHE_LIMIT) this.templates.clear();
    this.templates.set(row.endpoint_id, template);
    return template;
  }

  private build(
    headersText: string,
    secrets: string[],
    profile: DeliveryProfile,
    profileKey: string,
  ): EndpointTemplate {
    const signatureNames: Record<string, string> = { [SIGNER_TV1_HEADER]: profile.signatureHeader };
    if (profile.standardWebhooksHeaders)
      for (const name of STANDARD_WEBHOOKS_HEADERS) signatureNames[name] = name;
    const sent = Object.values(signatureNames);
    // Lower-cased like every header we set, so the recorded headers have one spelling per name.
    const headers: Record<string, string> = {};
    const redact = new Set<string>();
    let signer: Signer | null = null;
    let error: string | null = null;
    try {
      for (const h of decodeHeaderList(headersText)) {
        const name = h.name.toLowerCase();
        headers[name] = h.encrypted ? this.decrypt(h.value) : h.value;
        if (h.encrypted) redact.add(name);
      }
      const plain = secrets.map((c) => this.decrypt(c));
      if (plain.length === 0) throw new Error("The endpoint has no valid signing secret.");
      headers["content-type"] = "application/json";
      headers["user-agent"] = `${profile.userAgentProduct}/${HOOKGATE_VERSION}`;
      signer = new Signer(plain);
    } catch (err) {
      error = `Could not prepare the request: ${(err as Error).message}`;
    }
    const headerList: string[] = [];
    const recorded: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      recorded[name] = redact.has(name) || isSensitiveHeader(name) ? REDACTED : value;
      // A signature header is set per attempt and wins over a stored one of the same name.
      if (!sent.includes(name)) headerList.push(name, value);
    }
    const redactSignature: Record<string, boolean> = {};
    for (const name of sent) redactSignature[name] = redact.has(name) || isSensitiveHeader(name);
    return {
      headersText,
      secrets,
      profileKey,
      signatureNames,
      headerList,
      recorded,
      redactSignature,
      signer,
      error,
    };
  }

  private decrypt(ciphertext: string): string {
    let plain = this.plainCache.get(ciphertext);
    if (plain === undefined) {
      plain = this.cipher.decrypt(ciphertext);
      if (this.plainCache.size >= CACHE_LIMIT) this.plainCache.clear();
      this.plainCache.set(ciphertext, plain);
    }
    return plain;
  }
}

/** The request headers of one attempt (flat, for undici) and their recorded copy, signed now. */
export function signedHeaders(
  template: EndpointTemplate,
  eventId: string,
  body: Body,
): { headers: string[]; recorded: Record<string, string>; error: string | null } {
  if (!template.signer)
    return { headers: template.headerList, recorded: template.recorded, error: template.error };
  let signature: Record<string, string>;
  try {
    signature = template.signer.headers(eventId, Math.floor(Date.now() / 1000), body.bytes);
  } catch (err) {
    return {
      headers: template.headerList,
      recorded: template.recorded,
      error: `Could not prepare the request: ${(err as Error).message}`,
    };
  }
  const headers = template.headerList.slice();
  const recorded = { ...template.recorded };
  for (const signerName in signature) {
    const name = template.signatureNames[signerName];
    if (name === undefined) continue;
    headers.push(name, signature[signerName]);
    recorded[name] = template.redactSignature[name] ? REDACTED : signature[signerName];
  }
  if (body.test) {
    headers.push(TEST_HEADER, "1");
    recorded[TEST_HEADER] = "1";
  }
  return { headers, recorded, error: template.error };
}

/** The event's envelope (domain/envelope.ts), encoded once for all its deliveries. */
export function bodyOf(event: EventRow): Body {
  const text = envelopeOf({
    id: event.id,
    type: event.type,
    createdAt: event.created_at,
    payload: event.payload,
    test: event.test,
  });
  return { bytes: Buffer.from(text, "utf8"), test: event.test === true };
}

interface StoredHeader {
  name: string;
  value: string;
  encrypted: boolean;
}

/** Endpoint.headers as stored: [{ name, value, encrypted }] (value encrypted when `encrypted`). */
function decodeHeaderList(json: unknown): StoredHeader[] {
  const list = typeof json === "string" ? (JSON.parse(json) as unknown) : json;
  if (!Array.isArray(list)) return [];
  const out: StoredHeader[] = [];
  for (const h of list as Record<string, unknown>[]) {
    if (typeof h?.name !== "string" || typeof h.value !== "string") continue;
    // The schema comment calls the flag `sensitive`; the endpoints module writes `encrypted`. Accept both.
    out.push({ name: h.name, value: h.value, encrypted: h.encrypted === true || h.sensitive === true });
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
