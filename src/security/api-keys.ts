import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys: `hk_` + base64url of 32 random bytes. Only the SHA-256 is stored; lookups go by hash through a
 * unique index, so the comparison is database equality on a value an attacker cannot steer byte by byte.
 * A fast hash is right here (unlike passwords): the keys carry 256 bits of randomness.
 */

export const API_KEY_PREFIX = "hk_";
const DISPLAY_PREFIX_LENGTH = 10;
const API_KEY_PATTERN = /^hk_[A-Za-z0-9_-]{43}$/;

export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  return { key, hash: hashApiKey(key), prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** sha256 of the key, lowercase hex. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Shape check only (cheap rejection of garbage before touching the database). */
export function looksLikeApiKey(s: unknown): s is string {
  return typeof s === "string" && API_KEY_PATTERN.test(s);
}

const HEX = /^[0-9a-f]*$/i;

/** Constant-time equality of two hex strings (e.g. two key hashes). Different lengths or non-hex: false. */
export function safeEqualHex(a: string, b: string): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  if (a.length !== b.length || a.length % 2 !== 0 || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
}

/**
 * Constant-time equality of two arbitrary secrets (e.g. a bearer token against HOOKGATE_ADMIN_KEY): both are
 * hashed first so neither their contents nor their lengths show in the timing.
 */
export function safeEqualSecret(a: string, b: string): boolean {
  return safeEqualHex(hashApiKey(a), hashApiKey(b));
}
