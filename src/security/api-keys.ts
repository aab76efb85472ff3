import { createHash, randomBytes } from "node:crypto";

/**
 * API keys: `hk_` + base64url of 32 random bytes. Only the SHA-256 is stored; lookups go by hash through a
 * unique index, so the comparison is database equality on a value an attacker cannot steer byte by byte.
 * A fast hash is right here (unlike passwords): the keys carry 256 bits of randomness.
 */

export const API_KEY_PREFIX = "hk_";
const DISPLAY_PREFIX_LENGTH = 10;

export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  return { key, hash: hashApiKey(key), prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** sha256 of the key, lowercase hex. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
