/**
 * Webhook signatures, in the two forms Hookgate puts on every delivery:
 *
 * - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`), keyed with the
 *   secret's key bytes (see `secretKeyBytes`), so receivers can use any Standard Webhooks library.
 * - The t=/v1= form (`hookgate-signature: t=<ts>,v1=<hex>`), keyed with the secret string itself, which is the
 *   scheme Stripe's libraries check, so receivers that already verify Stripe webhooks can reuse that code.
 *
 * Pure node:crypto and no I/O: the dispatcher calls this on every attempt, and receivers import the verifier.
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from "node:crypto";

export const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;

const GENERATED_SECRET_BYTES = 24;
const USER_SECRET_MIN_LENGTH = 16;
const USER_SECRET_MAX_LENGTH = 256;
const HMAC_SHA256_BYTES = 32;
const FINGERPRINT_BODY_CHARS = 4;

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX_SHA256_RE = /^[0-9a-fA-F]{64}$/;
const TIMESTAMP_RE = /^[0-9]{1,15}$/;

// ---------------------------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------------------------

/** A fresh signing secret: `whsec_` + base64 of 24 random bytes (192 bits). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString("base64");
}

/**
 * Why a secret is unusable for signing, or null when it is fine. The domain layer should reject user-supplied
 * secrets with this before storing them, so a bad secret fails at creation rather than on every delivery.
 */
export function secretProblem(secret: string): string | null {
  if (secret.startsWith(SECRET_PREFIX)) {
    const body = secret.slice(SECRET_PREFIX.length);
    if (body.length === 0 || !BASE64_RE.test(body) || !isCanonicalBase64(body)) {
      return "a secret starting with whsec_ must be followed by base64";
    }
    if (secret.length > USER_SECRET_MAX_LENGTH) {
      return `a secret must be at most ${USER_SECRET_MAX_LENGTH} characters`;
    }
    return null;
  }
  if (secret.length < USER_SECRET_MIN_LENGTH || secret.length > USER_SECRET_MAX_LENGTH) {
    return `a secret must be ${USER_SECRET_MIN_LENGTH}–${USER_SECRET_MAX_LENGTH} characters`;
  }
  return null;
}

/**
 * The HMAC key for the Standard Webhooks form.
 *
 * A `whsec_` secret is, by the Standard Webhooks convention, base64 of the real key: every Standard Webhooks
 * library strips the prefix and decodes, so we must sign with the decoded bytes or no receiver could verify.
 * This also covers secrets users bring over from Svix or other Standard Webhooks senders.
 *
 * Any other user-supplied secret is an arbitrary string, not base64 (decoding it would silently drop or garble
 * characters, and two different strings could decode to the same key), so its UTF-8 bytes are the key. Receivers
 * then pass those bytes as a raw key, e.g. `new Webhook(Buffer.from(secret), { format: "raw" })`.
 *
 * Throws a TypeError for a secret that `secretProblem` rejects.
 */
export function secretKeyBytes(secret: string): Buffer {
  const problem = secretProblem(secret);
  if (problem !== null) throw new TypeError(`Invalid signing secret: ${problem}`);
  if (secret.startsWith(SECRET_PREFIX)) return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  return Buffer.from(secret, "utf8");
}

/**
 * A short display form such as `whsec_ab12…`, for listing which secrets are valid. It shows at most 4
 * characters of the secret body (and fewer for short bodies), which never narrows the rest enough to guess.
 * Never throws, so it is safe on anything read back from storage.
 */
export function secretFingerprint(secret: string): string {
  const prefix = secret.startsWith(SECRET_PREFIX) ? SECRET_PREFIX : "";
  // Code points, not UTF-16 units, so a surrogate pair is never cut in half.
  const body = Array.from(secret.slice(prefix.length));
  const shown = Math.min(FINGERPRINT_BODY_CHARS, Math.floor(body.length / 4));
  return prefix + body.slice(0, shown).join("") + "…";
}

function isCanonicalBase64(s: string): boolean {
  // Node's decoder skips characters it does not understand; a round trip proves nothing was skipped. Unpadded
  // input is allowed because some senders strip the padding.
  if (s.length % 4 === 1) return false;
  const padded = s.length % 4 === 0 ? s : s + "=".repeat(4 - (s.length % 4));
  return Buffer.from(padded, "base64").toString("base64") === padded;
}

// ---------------------------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------------------------

type Body = string | Buffer;

function toBytes(body: Body): Buffer {
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}

function standardDigest(key: Buffer, msgId: string, timestamp: number, body: Buffer): Buffer {
  // Hashed in pieces so the body (possibly large) is encoded once per request, not once per secret.
  return createHmac("sha256", key).update(`${msgId}.${timestamp}.`, "utf8").update(body).digest();
}

function hookgateDigest(secret: string, timestamp: number, body: Buffer): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(body).digest();
}

function assertTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError(`Signature timestamp must be whole unix seconds, got ${timestamp}`);
  }
}

function assertSecrets(secrets: readonly string[]): void {
  if (secrets.length === 0) throw new TypeError("At least one signing secret is required");
}

/**
 * Signs many messages with the same secrets: the keys are validated, decoded and imported once, not on every
 * request. The dispatcher keeps one per endpoint (and set of valid secrets); this is the only signing code.
 */
export class Signer {
  private readonly standardKeys: KeyObject[];
  private readonly hookgateKeys: KeyObject[];

  /** Throws a TypeError for an empty list or a secret that `secretProblem` rejects. */
  constructor(secrets: readonly string[]) {
    assertSecrets(secrets);
    this.standardKeys = secrets.map((s) => createSecretKey(secretKeyBytes(s)));
    this.hookgateKeys = secrets.map((s) => createSecretKey(Buffer.from(s, "utf8")));
  }

  /** Every signature header for one attempt; `body` as the exact bytes sent. */
  headers(msgId: string, timestamp: number, body: Buffer): Record<string, string> {
    assertTimestamp(timestamp);
    const ts = String(timestamp);
    let standard = "";
    for (const key of this.standardKeys) {
      const digest = createHmac("sha256", key)
        .update(`${msgId}.${ts}.`, "utf8")
        .update(body)
        .digest("base64");
      standard += standard === "" ? `v1,${digest}` : ` v1,${digest}`;
    }
    let hookgate = `t=${ts}`;
    for (const key of this.hookgateKeys) {
      hookgate += `,v1=${createHmac("sha256", key).update(`${ts}.`, "utf8").update(body).digest("hex")}`;
    }
    return {
      "webhook-id": msgId,
      "webhook-timestamp": ts,
      "webhook-signature": standard,
      "hookgate-signature": hookgate,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification (public API for receivers)
// ---------------------------------------------------------------------------------------------------------------

export type WebhookVerificationErrorCode =
  | "MISSING_HEADERS"
  | "INVALID_TIMESTAMP"
  | "TIMESTAMP_OUT_OF_TOLERANCE"
  | "INVALID_SIGNATURE";

export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.code = code;
  }
}

export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export interface VerifyOptions {
  /** The endpoint's secret, or several while a rotation's grace period lasts. */
  secret: string | string[];
  headers: WebhookHeaders;
  /** The raw request body, exactly as received: re-serialised JSON will not verify. */
  body: string | Buffer;
  /** Maximum age (and maximum clock skew into the future) of the timestamp; default 300. */
  toleranceSeconds?: number;
  /** The current time in unix seconds; defaults to the system clock. */
  now?: number;
}

export interface VerifiedWebhook {
  /**
   * The message id, for de-duplication. In the t=/v1= form the id is not covered by the signature, so it is the
   * unauthenticated `webhook-id` header, or "" when absent.
   */
  id: string;
  /** Unix seconds, as signed. */
  timestamp: number;
  form: "standard" | "hookgate";
}

/**
 * Verify a delivery from Hookgate (or any Standard Webhooks sender). Uses the Standard Webhooks headers when all
 * three are present, otherwise `hookgate-signature`. Header names are case-insensitive. Succeeds when any listed
 * `v1` signature matches any given secret; entries of other versions or malformed entries are ignored.
 *
 * @throws WebhookVerificationError with a `code` saying what was wrong.
 */
export function verifyWebhook(opts: VerifyOptions): VerifiedWebhook {
  const get = headerReader(opts.headers);
  if (get("webhook-id") && get("webhook-timestamp") && get("webhook-signature")) {
    return verifyStandard(opts);
  }
  if (get("hookgate-signature") !== undefined) return verifyHookgate(opts);
  throw new WebhookVerificationError(
    "MISSING_HEADERS",
    "Missing signature headers: expected webhook-id, webhook-timestamp and webhook-signature, or hookgate-signature",
  );
}

/** Verify only the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`). */
export function verifyStandard(opts: VerifyOptions): VerifiedWebhook {
  const get = headerReader(opts.headers);
  const id = get("webhook-id");
  const timestampHeader = get("webhook-timestamp");
  const signatureHeader = get("webhook-signature", " ");
  if (!id || !timestampHeader || !signatureHeader) {
    throw new WebhookVerificationError(
      "MISSING_HEADERS",
      "Missing webhook-id, webhook-timestamp or webhook-signature header",
    );
  }
  const timestamp = parseTimestamp(timestampHeader);
  checkTolerance(timestamp, opts);

  const body = toBytes(opts.body);
  const expected = secretList(opts.secret).map((s) => standardDigest(secretKeyBytes(s), id, timestamp, body));
  const given: Buffer[] = [];
  // Entries are space-separated; a fetch Headers joins repeated headers with ", ", so a comma right before the
  // space is a separator too (a base64 signature never ends in a comma).
  for (const entry of signatureHeader.trim().split(/,?\s+/)) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const sig = entry.slice(comma + 1);
    if (!BASE64_RE.test(sig)) continue;
    given.push(Buffer.from(sig, "base64"));
  }
  if (!anyMatch(given, expected)) {
    throw new WebhookVerificationError("INVALID_SIGNATURE", "No matching signature found");
  }
  return { id, timestamp, form: "standard" };
}

/** Verify only the t=/v1= `hookgate-signature` header. */
export function verifyHookgate(opts: VerifyOptions): VerifiedWebhook {
  const get = headerReader(opts.headers);
  const header = get("hookgate-signature", ",");
  if (!header) throw new WebhookVerificationError("MISSING_HEADERS", "Missing hookgate-signature header");

  let timestampText: string | undefined;
  const given: Buffer[] = [];
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === "t") {
      // Two different t= values would leave it ambiguous which one was signed.
      if (timestampText !== undefined && timestampText !== value) {
        throw new WebhookVerificationError("INVALID_TIMESTAMP", "hookgate-signature has more than one t=");
      }
      timestampText = value;
    } else if (key === "v1" && HEX_SHA256_RE.test(value)) {
      given.push(Buffer.from(value, "hex"));
    }
  }
  if (timestampText === undefined) {
    throw new WebhookVerificationError("INVALID_TIMESTAMP", "hookgate-signature has no t= timestamp");
  }
  const timestamp = parseTimestamp(timestampText);
  checkTolerance(timestamp, opts);

  const body = toBytes(opts.body);
  const expected = secretList(opts.secret).map((s) => hookgateDigest(s, timestamp, body));
  if (!anyMatch(given, expected)) {
    throw new WebhookVerificationError("INVALID_SIGNATURE", "No matching signature found");
  }
  return { id: get("webhook-id") ?? "", timestamp, form: "hookgate" };
}

function secretList(secret: string | string[]): string[] {
  const list = Array.isArray(secret) ? secret : [secret];
  // A programming error, not a bad request: verifying against no secret must never be mistaken for a result.
  if (list.length === 0) throw new TypeError("verifyWebhook needs at least one secret");
  return list;
}

function parseTimestamp(text: string): number {
  const trimmed = text.trim();
  if (!TIMESTAMP_RE.test(trimmed)) {
    throw new WebhookVerificationError("INVALID_TIMESTAMP", "Timestamp is not whole unix seconds");
  }
  return Number(trimmed);
}

function checkTolerance(timestamp: number, opts: VerifyOptions): void {
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  // Future timestamps are bounded too: otherwise a captured request signed "tomorrow" could be replayed later.
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookVerificationError(
      "TIMESTAMP_OUT_OF_TOLERANCE",
      `Timestamp ${timestamp} is more than ${tolerance} s from now (${now})`,
    );
  }
}

function anyMatch(given: readonly Buffer[], expected: readonly Buffer[]): boolean {
  let matched = false;
  for (const g of given) {
    // timingSafeEqual throws on unequal lengths, and the length of a signature is public anyway.
    if (g.length !== HMAC_SHA256_BYTES) continue;
    for (const e of expected) {
      // No early exit: which secret matched should not show in the timing either.
      if (timingSafeEqual(g, e)) matched = true;
    }
  }
  return matched;
}

/**
 * Case-insensitive header lookup over a plain object (node:http style) or a fetch `Headers`. Repeated headers
 * arrive as arrays from some frameworks; they are joined with `joiner` (the header's own list separator for
 * signature headers, ", " as fetch does otherwise).
 */
function headerReader(headers: WebhookHeaders): (name: string, joiner?: string) => string | undefined {
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    return (name) => headers.get(name) ?? undefined;
  }
  const lower = new Map<string, string | string[]>();
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value === undefined) continue;
    const k = key.toLowerCase();
    const prev = lower.get(k);
    lower.set(k, prev === undefined ? value : [...[prev].flat(), ...[value].flat()]);
  }
  return (name, joiner = ", ") => {
    const value = lower.get(name);
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.join(joiner) : value;
  };
}
