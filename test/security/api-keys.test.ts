import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey } from "../../src/security/api-keys.js";

describe("api keys", () => {
  it("generates hk_ keys with a sha256 hash and a 10-character display prefix", () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(3), "base64url")).toHaveLength(32);
    expect(hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(hash).toBe(hashApiKey(key));
    expect(prefix).toBe(key.slice(0, 10));
  });

  it("never repeats a key", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey().key));
    expect(keys.size).toBe(200);
  });
});
