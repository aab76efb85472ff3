import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createCipher,
  DecryptionError,
  KEY_FILE_NAME,
  loadOrCreateKeyFile,
} from "../../src/security/crypto.js";

describe("createCipher", () => {
  const key = randomBytes(32);

  it("round-trips text, including empty and non-ASCII, with a fresh IV every time", () => {
    const cipher = createCipher(key);
    for (const plain of ["whsec_c2VjcmV0", "", "ünïcødé ✓ 🔑", "x".repeat(10_000)]) {
      const a = cipher.encrypt(plain);
      const b = cipher.encrypt(plain);
      expect(a).not.toBe(b);
      expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      expect(cipher.decrypt(a)).toBe(plain);
      expect(cipher.decrypt(b)).toBe(plain);
    }
  });

  it("does not leak the plaintext into the token", () => {
    const token = createCipher(key).encrypt("supersecretvalue");
    expect(token).not.toContain("supersecretvalue");
    expect(token).not.toContain(Buffer.from("supersecretvalue").toString("base64url"));
  });

  it("detects any altered byte of the IV, ciphertext or tag", () => {
    const cipher = createCipher(key);
    const token = cipher.encrypt("hello world");
    const [version, iv, body] = token.split(".");
    const flip = (text: string, index: number) => {
      const bytes = Buffer.from(text, "base64url");
      bytes[index] ^= 0x01;
      return bytes.toString("base64url");
    };
    const bodyLength = Buffer.from(body, "base64url").length;
    const altered = [
      `${version}.${flip(iv, 0)}.${body}`,
      `${version}.${iv}.${flip(body, 0)}`,
      `${version}.${iv}.${flip(body, bodyLength - 1)}`,
    ];
    for (const t of altered) {
      expect(() => cipher.decrypt(t)).toThrow(DecryptionError);
      expect(() => cipher.decrypt(t)).toThrow(/altered or was encrypted with a different key/);
    }
  });

  it("refuses a different key", () => {
    const token = createCipher(key).encrypt("hello");
    expect(() => createCipher(randomBytes(32)).decrypt(token)).toThrow(/different key/);
  });

  it("refuses malformed tokens with a clear error", () => {
    const cipher = createCipher(key);
    const good = cipher.encrypt("x");
    for (const bad of [
      "",
      "v1",
      "v2" + good.slice(2),
      "v1.abc",
      `${good}.extra`,
      "v1.!!!.???",
      "v1.AAAA.AAAA",
    ]) {
      expect(() => cipher.decrypt(bad), bad).toThrow(DecryptionError);
    }
  });

  it("wants exactly 32 bytes of key and keeps its own copy", () => {
    expect(() => createCipher(randomBytes(16))).toThrow(/exactly 32 bytes/);
    expect(() => createCipher(randomBytes(33))).toThrow(/exactly 32 bytes/);
    const k = randomBytes(32);
    const cipher = createCipher(k);
    const token = cipher.encrypt("keep");
    k.fill(0);
    expect(cipher.decrypt(token)).toBe("keep");
  });
});

describe("loadOrCreateKeyFile", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  function tempDir() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "hookgate-key-"));
    dirs.push(d);
    return d;
  }

  it("creates the directory (0700) and a 0600 key file, then loads the same key", () => {
    const dataDir = path.join(tempDir(), "nested", "data");
    const key = loadOrCreateKeyFile(dataDir);
    expect(key).toHaveLength(32);
    const file = path.join(dataDir, KEY_FILE_NAME);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64").equals(key)).toBe(true);
    expect(loadOrCreateKeyFile(dataDir).equals(key)).toBe(true);
    expect(fs.readdirSync(dataDir)).toEqual([KEY_FILE_NAME]);
    // The created key really works as a cipher key.
    const cipher = createCipher(loadOrCreateKeyFile(dataDir));
    expect(createCipher(key).decrypt(cipher.encrypt("again"))).toBe("again");
  });

  it("leaves an existing directory's mode alone", () => {
    const dataDir = tempDir();
    fs.chmodSync(dataDir, 0o750);
    loadOrCreateKeyFile(dataDir);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o750);
  });

  it("refuses a key file readable by group or others", () => {
    const dataDir = tempDir();
    loadOrCreateKeyFile(dataDir);
    const file = path.join(dataDir, KEY_FILE_NAME);
    for (const mode of [0o640, 0o604, 0o644]) {
      fs.chmodSync(file, mode);
      expect(() => loadOrCreateKeyFile(dataDir)).toThrow(/readable by other users .*chmod 600/);
    }
  });

  it("refuses a key file that is not base64 of exactly 32 bytes, and does not overwrite it", () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, KEY_FILE_NAME);
    const bad = [
      randomBytes(16).toString("base64"),
      randomBytes(33).toString("base64"),
      "not base64 at all!",
      "",
      randomBytes(32).toString("hex"),
      `${randomBytes(32).toString("base64")}AAAA`,
    ];
    for (const content of bad) {
      fs.writeFileSync(file, content, { mode: 0o600 });
      expect(() => loadOrCreateKeyFile(dataDir), content).toThrow(/does not hold a valid key/);
      expect(fs.readFileSync(file, "utf8")).toBe(content);
    }
  });

  it("accepts a hand-written key without a trailing newline", () => {
    const dataDir = tempDir();
    const key = randomBytes(32);
    fs.writeFileSync(path.join(dataDir, KEY_FILE_NAME), key.toString("base64"), { mode: 0o600 });
    expect(loadOrCreateKeyFile(dataDir).equals(key)).toBe(true);
  });
});
