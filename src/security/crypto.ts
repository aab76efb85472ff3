import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Secrets at rest (endpoint signing secrets, sensitive custom header values): AES-256-GCM.
 * Token format: `v1.<base64url 12-byte IV>.<base64url ciphertext followed by the 16-byte tag>`. The version
 * prefix lets a later format (or key rotation) coexist with rows already written.
 */

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";
// Binds every ciphertext to this format, so a token can't be replayed under a future scheme with the same key.
const AAD = Buffer.from("hookgate:v1");

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

export interface Cipher {
  encrypt(plain: string): string;
  /** Throws DecryptionError when the token is malformed, altered, or was written with another key. */
  decrypt(token: string): string;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function createCipher(key: Buffer): Cipher {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new Error(`The encryption key must be exactly ${KEY_BYTES} bytes (got ${key?.length ?? 0}).`);
  }
  // Our own copy: a caller zeroing or reusing its buffer must not change the key under us.
  const k = Buffer.from(key);
  return {
    encrypt(plain: string): string {
      // A random 96-bit IV per message; GCM stays safe for far more messages than one key will ever see here.
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", k, iv);
      cipher.setAAD(AAD);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${iv.toString("base64url")}.${body.toString("base64url")}`;
    },
    decrypt(token: string): string {
      const parts = typeof token === "string" ? token.split(".") : [];
      if (parts.length !== 3 || parts[0] !== VERSION) {
        throw new DecryptionError(`Cannot decrypt: not a ${VERSION} encrypted value.`);
      }
      const [, ivText, bodyText] = parts;
      if (!BASE64URL.test(ivText) || !BASE64URL.test(bodyText)) {
        throw new DecryptionError("Cannot decrypt: the encrypted value is malformed.");
      }
      const iv = Buffer.from(ivText, "base64url");
      const body = Buffer.from(bodyText, "base64url");
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
        throw new DecryptionError("Cannot decrypt: the encrypted value is malformed.");
      }
      try {
        const decipher = createDecipheriv("aes-256-gcm", k, iv);
        decipher.setAAD(AAD);
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return plain.toString("utf8");
      } catch {
        throw new DecryptionError(
          "Cannot decrypt: the value was altered or was encrypted with a different key (check HOOKGATE_ENCRYPTION_KEY).",
        );
      }
    },
  };
}

export const KEY_FILE_NAME = "encryption.key";

/**
 * Embedded mode's key: `<dataDir>/encryption.key`, base64 of 32 random bytes, mode 0600 (directory 0700 when
 * we create it). An existing file is used only if it holds exactly such a key and nobody but the owner can
 * read it; anything else is refused rather than "repaired", because replacing a key makes every stored
 * secret undecryptable.
 */
export function loadOrCreateKeyFile(dataDir: string): Buffer {
  const file = path.join(dataDir, KEY_FILE_NAME);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (fs.existsSync(file)) return readKeyFile(file);

  // Written in full to a private temporary file, then hard-linked into place: link() fails if the name
  // exists, so two processes starting at once cannot both install a key (the loser reads the winner's), and
  // a crash mid-write never leaves a truncated key file behind.
  const key = randomBytes(KEY_BYTES);
  const tmp = path.join(dataDir, `.${KEY_FILE_NAME}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    fs.writeFileSync(fd, `${key.toString("base64")}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return readKeyFile(file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readKeyFile(file: string): Buffer {
  const stat = fs.statSync(file);
  if (!stat.isFile()) throw new Error(`${file} is not a regular file.`);
  // Windows has no POSIX modes to check.
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    throw new Error(
      `${file} is readable by other users (mode ${(stat.mode & 0o777).toString(8).padStart(4, "0")}); ` +
        `restrict it with: chmod 600 ${file}`,
    );
  }
  const text = fs.readFileSync(file, "utf8").trim();
  const key = Buffer.from(text, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== KEY_BYTES || key.toString("base64") !== text) {
    throw new Error(
      `${file} does not hold a valid key (expected base64 of exactly ${KEY_BYTES} bytes). ` +
        "Restore the original file; a new key cannot decrypt secrets stored with the old one.",
    );
  }
  return key;
}
