import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SharedKeyChecks } from "../../src/domain/key-checks.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { createKey, rootTenant } from "./read-fixtures.js";

describe("SharedKeyChecks", () => {
  let h: TestHookgate;
  let clock = 1_000_000;
  const now = () => clock;

  beforeAll(async () => {
    h = await startTestHookgate();
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function freshKey() {
    const key = await createKey(h, (await rootTenant(h)).id, ["DELIVERIES_READ"]);
    const id = (await h.gql("{ viewer { keyId } }", {}, key)).data.viewer.keyId as string;
    return { key, id };
  }

  it("one read per key and window, whatever the number of sockets asking", async () => {
    const checks = new SharedKeyChecks(h.hookgate.app, 2000, now);
    const { key } = await freshKey();
    const other = await freshKey();
    const first = await Promise.all(Array.from({ length: 50 }, () => checks.check(key)));
    expect(checks.readsStarted).toBe(1);
    for (const c of first) expect(c).toMatchObject({ result: { ok: true }, startedAt: clock });
    // Another key is read on its own.
    expect((await checks.check(other.key)).result.ok).toBe(true);
    expect(checks.readsStarted).toBe(2);

    clock += 1999;
    expect((await checks.check(key)).startedAt).toBe(clock - 1999);
    expect(checks.readsStarted).toBe(2);
    clock += 1;
    expect((await checks.check(key)).startedAt).toBe(clock);
    expect(checks.readsStarted).toBe(3);
  });

  it("sees a revocation once the window of the last read has passed, as a per-socket read would", async () => {
    const checks = new SharedKeyChecks(h.hookgate.app, 2000, now);
    const { key, id } = await freshKey();
    const before = await checks.check(key);
    expect(before.result.ok).toBe(true);
    await h.gql("mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", { id });
    // A socket whose last check started at `before.startedAt` is not due yet...
    clock += 500;
    expect(checks.due(before.startedAt)).toBe(false);
    // ...and once it is, it gets a read that started after the revocation.
    clock += 1500;
    expect(checks.due(before.startedAt)).toBe(true);
    const after = await checks.check(key);
    expect(after.startedAt).toBe(clock);
    expect(after.result).toEqual({ ok: false, reason: "API key has been revoked" });
  });

  it("unknown keys are refused and not confused with known ones", async () => {
    const checks = new SharedKeyChecks(h.hookgate.app, 2000, now);
    expect((await checks.check("hk_unknown")).result).toEqual({ ok: false, reason: "Invalid API key" });
    expect((await checks.check(h.adminKey)).result.ok).toBe(true);
  });
});
