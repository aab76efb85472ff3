/**
 * HOOKGATE_ADMIN_KEY: a server started with it has an ADMIN key of exactly that value on the root tenant,
 * stored as a hash only, created once however often the server starts, and no generated first key; and a
 * key's lastUsedAt is recorded when it is used.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startHookgate } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { createTestDatabase, type TestDatabase } from "../support/db.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function start(database: TestDatabase, adminKey: string | undefined) {
  const config = testConfig({
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    encryptionKey: randomBytes(32),
    adminKey,
  });
  const hookgate = await startHookgate(config, { db: database.db, role: "api" });
  const gql = async (key: string, query: string) => {
    const res = await fetch(`${hookgate.server!.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: any; errors?: any[] };
  };
  return { hookgate, gql };
}

describe("HOOKGATE_ADMIN_KEY bootstrap", { timeout: 180_000 }, () => {
  it("makes an ADMIN key of exactly that value, hashed, once across restarts, and no generated key", async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.close());
    const adminKey = `operator-chosen-${randomBytes(16).toString("hex")}`;

    const first = await start(database, adminKey);
    expect(first.hookgate.firstAdminKey).toBeNull();
    const viewer = await first.gql(adminKey, "{ viewer { keyId tenantId scopes } }");
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data.viewer.scopes).toEqual(["ADMIN"]);
    // A wrong key is refused: the value itself is the credential.
    const wrong = await first.gql(`${adminKey}x`, "{ viewer { keyId } }");
    expect(wrong.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    await first.hookgate.stop();

    const second = await start(database, adminKey);
    expect(second.hookgate.firstAdminKey).toBeNull();
    expect((await second.gql(adminKey, "{ viewer { keyId } }")).data.viewer.keyId).toBe(
      viewer.data.viewer.keyId,
    );
    const prisma = second.hookgate.app.prisma;
    const keys = await prisma.apiKey.findMany();
    // One key in all: the bootstrap key, on the root tenant, never stored in plain.
    expect(keys).toHaveLength(1);
    const root = await prisma.tenant.findFirstOrThrow({ where: { parentId: null } });
    expect(keys[0]).toMatchObject({ name: "HOOKGATE_ADMIN_KEY", tenantId: root.id, scopes: ["ADMIN"] });
    expect(JSON.stringify(keys)).not.toContain(adminKey);
    await second.hookgate.stop();
  });

  it("records lastUsedAt when a key is used", async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.close());
    const adminKey = `operator-chosen-${randomBytes(16).toString("hex")}`;
    const { hookgate, gql } = await start(database, adminKey);
    cleanups.push(() => hookgate.stop());
    const prisma = hookgate.app.prisma;
    const before = await prisma.apiKey.findFirstOrThrow();
    expect(before.lastUsedAt).toBeNull();

    const usedFrom = Date.now();
    expect((await gql(adminKey, "{ viewer { keyId } }")).errors).toBeUndefined();
    // The write is fire-and-forget after authentication: wait for it, bounded.
    let after = before;
    const deadline = Date.now() + 10_000;
    while (after.lastUsedAt === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await prisma.apiKey.findFirstOrThrow();
    }
    expect(after.lastUsedAt).not.toBeNull();
    expect(after.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(usedFrom - 5);
    expect(after.lastUsedAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });
});
