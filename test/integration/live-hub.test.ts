import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryUpdateHub, type LiveUpdate } from "../../src/domain/live.js";
import { DELIVERY_UPDATES_CHANNEL } from "../../src/domain/signals.js";
import { createTestDatabase, type TestDatabase } from "../support/db.js";
import { emitUpdate } from "./live-fixtures.js";

const sig = (n: number, over: Partial<{ t: string; e: string; y: string; s: string }> = {}) => ({
  d: `dlv_${n}`,
  a: null,
  t: "/ten_root/ten_a/",
  e: "ep_1",
  y: "invoice.paid",
  s: "SUCCEEDED",
  ...over,
});

/** next() with a bound, so a missing update fails the test instead of hanging it. */
async function nextWithin(sub: AsyncIterator<LiveUpdate>, ms = 3_000): Promise<IteratorResult<LiveUpdate>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      sub.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no update within bound")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe("DeliveryUpdateHub", () => {
  let t: TestDatabase;
  let hub: DeliveryUpdateHub;
  beforeEach(async () => {
    t = await createTestDatabase();
  });
  afterEach(async () => {
    await hub?.close();
    await t?.close();
  });

  it("listens lazily, filters by tenant subtree, and stops with the last subscriber", async () => {
    hub = new DeliveryUpdateHub(t.db);
    expect(hub.isListening).toBe(false);
    const mine = hub.subscribe({ tenantPath: "/ten_root/ten_a/" });
    const other = hub.subscribe({ tenantPath: "/ten_root/ten_b/" });
    await mine.ready;
    expect(hub.isListening).toBe(true);

    await emitUpdate(t.db, sig(1, { t: "/ten_root/ten_b/" }));
    await emitUpdate(t.db, sig(2, { t: "/ten_root/ten_a/ten_c/" }));
    expect((await nextWithin(mine)).value?.signal.d).toBe("dlv_2");
    expect((await nextWithin(other)).value?.signal.d).toBe("dlv_1");

    await mine.return();
    expect(hub.isListening).toBe(true);
    await other.return();
    expect(hub.subscriberCount).toBe(0);
    expect(hub.isListening).toBe(false);
    await hub.ready();
  });

  it("keeps at most bufferSize updates for a subscriber that does not read, dropping the oldest", async () => {
    hub = new DeliveryUpdateHub(t.db, { bufferSize: 3 });
    const slow = hub.subscribe({ tenantPath: "/" });
    const fast = hub.subscribe({ tenantPath: "/" }, { bufferSize: 100 });
    await slow.ready;
    for (let i = 1; i <= 10; i++) await emitUpdate(t.db, sig(i));
    // The other one (with room for all) reads all ten, so all have arrived; the slow one
    // read nothing meanwhile.
    const got: string[] = [];
    for (let i = 0; i < 10; i++) got.push((await nextWithin(fast)).value!.signal.d);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `dlv_${i + 1}`));
    expect(slow.dropped).toBe(7);
    const rest: string[] = [];
    for (let i = 0; i < 3; i++) rest.push((await nextWithin(slow)).value!.signal.d);
    expect(rest).toEqual(["dlv_8", "dlv_9", "dlv_10"]);
  });

  it("ignores malformed payloads and ends every stream on close()", async () => {
    const errors: unknown[] = [];
    hub = new DeliveryUpdateHub(t.db, { onError: (e) => errors.push(e) });
    const sub = hub.subscribe({ tenantPath: "/", statuses: ["FAILED"] });
    await sub.ready;
    await t.db.notify(DELIVERY_UPDATES_CHANNEL, "not json");
    await emitUpdate(t.db, sig(1, { s: "SUCCEEDED" }));
    await emitUpdate(t.db, sig(2, { s: "FAILED" }));
    expect((await nextWithin(sub)).value?.signal.d).toBe("dlv_2");
    expect(errors).toHaveLength(1);

    const pending = sub.next();
    await hub.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(hub.isListening).toBe(false);
    expect(() => hub.subscribe({ tenantPath: "/" })).toThrow(/closed/);
  });

  it("shares one load per signal and key, and loads again for the next signal", async () => {
    hub = new DeliveryUpdateHub(t.db);
    let loads = 0;
    const load = async () => ++loads;
    const results = await Promise.all(Array.from({ length: 50 }, () => hub.rows.get(1, "q", load)));
    expect(new Set(results)).toEqual(new Set([1]));
    expect(await hub.rows.get(1, "other query", load)).toBe(2);
    expect(await hub.rows.get(2, "q", load)).toBe(3);
    // A failed load is not kept: the next caller tries again.
    await expect(hub.rows.get(3, "q", () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
    expect(await hub.rows.get(3, "q", load)).toBe(4);
  });
});
