import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  safeEqualHex,
  safeEqualSecret,
} from "../../src/security/api-keys.js";

describe("api keys", () => {
  it("generates hk_ keys with a sha256 hash and a 10-character display prefix", () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(3), "base64url")).toHaveLength(32);
    expect(hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(hash).toBe(hashApiKey(key));
    expect(prefix).toBe(key.slice(0, 10));
    expect(looksLikeApiKey(key)).toBe(true);
  });

  it("never repeats a key", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey().key));
    expect(keys.size).toBe(200);
  });

  it("recognises only well-formed keys", () => {
    const { key } = generateApiKey();
    for (const s of [
      "",
      "hk_",
      `${key}x`,
      key.slice(0, -1),
      `xx_${key.slice(3)}`,
      `hk_${"+".repeat(43)}`,
      42,
      null,
    ]) {
      expect(looksLikeApiKey(s), String(s)).toBe(false);
    }
  });

  it("compares hex in constant time, false for anything unequal or malformed", () => {
    const a = hashApiKey("one");
    expect(safeEqualHex(a, a)).toBe(true);
    expect(safeEqualHex(a, a.toUpperCase())).toBe(true);
    expect(safeEqualHex(a, hashApiKey("two"))).toBe(false);
    expect(safeEqualHex(a, a.slice(0, -2))).toBe(false);
    expect(safeEqualHex(`${a.slice(0, -1)}z`, `${a.slice(0, -1)}z`)).toBe(false);
    expect(safeEqualHex("abc", "abc")).toBe(false);
  });

  it("compares arbitrary secrets of any length", () => {
    expect(
      safeEqualSecret("admin-key-0123456789-abcdefghijklmnop", "admin-key-0123456789-abcdefghijklmnop"),
    ).toBe(true);
    expect(
      safeEqualSecret("admin-key-0123456789-abcdefghijklmnop", "admin-key-0123456789-abcdefghijklmnoq"),
    ).toBe(false);
    expect(safeEqualSecret("short", "much longer value")).toBe(false);
  });
});
