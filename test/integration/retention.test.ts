import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { removeExpired } from "../../src/domain/retention.js";
import { TEST_DB } from "../support/db.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
  waitForStatus,
} from "./delivery-fixtures.js";

const DAY = 24 * 3600_000;
const RETENTION = 30 * DAY;

describe("HOOKGATE_RETENTION (config)", () => {
  it("defaults to 30 days, accepts 1h and off/0, refuses less than an hour naming the variable", () => {
    expect(loadConfig({}).retentionMs).toBe(RETENTION);
    expect(loadConfig({ HOOKGATE_RETENTION: "1h" }).retentionMs).toBe(3600_000);
    expect(loadConfig({ HOOKGATE_RETENTION: "off" }).retentionMs).toBe(0);
    expect(loadConfig({ HOOKGATE_RETENTION: "0" }).retentionMs).toBe(0);
    expect(loadConfig({ HOOKGATE_RETENTION: "3650d" }).retentionMs).toBe(3650 * DAY);
    expect(() => loadConfig({ HOOKGATE_RETENTION: "59m" })).toThrow(
      /HOOKGATE_RETENTION: must be between 1h and 3650d, got 59m \(or off, to keep everything\)/,
    );
    expect(() => loadConfig({ HOOKGATE_RETENTION: "3651d" })).toThrow(/HOOKGATE_RETENTION/);
    expect(() => loadConfig({ HOOKGATE_RETENTION: "forever" })).toThrow(
      /HOOKGATE_RETENTION: expected a duration/,
    );
  });
});

// Real servers, receivers and deliveries: slow on a loaded 2-core machine.
describe(`retention removes what is past it and nothing else (${TEST_DB})`, { timeout: 180_000 }, () => {
  let h: TestHookgate | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    for (const r of receivers.splice(0)) await r.close();
  });

  /** Events with SUCCEEDED deliveries (2 endpoints each) and one RETRYING delivery, aged by SQL. */
  async function setup(role: "all" | "api", retryScheduleMs = [3600_000]) {
    h = await startTestHookgate({ role, config: { ...FAST, retryScheduleMs } });
    const good = await startReceiver();
    const bad = await startReceiver((_req, res) => {
      res.statusCode = 500;
      res.end("no");
    });
    receivers.push(good, bad);
    await createEventType(h, "a.done");
    await createEventType(h, "b.failing");
    await createEndpoint(h, good.url, { events: ["a.done"] });
    await createEndpoint(h, `${good.url}?second`, { events: ["a.done"] });
    await createEndpoint(h, bad.url, { events: ["b.failing"] });
    return { good, bad };
  }

  async function counts() {
    const q = (sql: string) =>
      h!.hookgate.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`);
    return {
      events: (await q("events"))[0]!.n,
      deliveries: (await q("deliveries"))[0]!.n,
      attempts: (await q("attempts"))[0]!.n,
    };
  }

  it("at and past its edges: removes finished deliveries, their attempts and events older than the cutoff; keeps due ones and recent replays", async () => {
    const { good, bad } = await setup("all");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await publish(h!, "a.done", { i })).event.id);
    const failing = (await publish(h!, "b.failing", { x: 1 })).event.id;
    await good.waitFor(10);
    await bad.waitFor(1);
    const db = h!.hookgate.app.db;
    await until(async () => {
      const rows = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM deliveries WHERE status = 'SUCCEEDED'",
      );
      return rows[0]!.n === 10;
    });
    const [retrying] = await db.query<{ id: string }>("SELECT id FROM deliveries WHERE event_id = $1", [
      failing,
    ]);
    await waitForStatus(h!, retrying!.id, "RETRYING");
    expect(await counts()).toEqual({ events: 6, deliveries: 11, attempts: 11 });

    const now = new Date();
    const cutoff = new Date(now.getTime() - RETENTION);
    const past = new Date(cutoff.getTime() - 1);
    const setAge = async (eventId: string, createdAt: Date, updatedAt: Date) => {
      await db.query("UPDATE events SET created_at = $2 WHERE id = $1", [eventId, createdAt]);
      await db.query("UPDATE deliveries SET created_at = $2, updated_at = $3 WHERE event_id = $1", [
        eventId,
        createdAt,
        updatedAt,
      ]);
    };
    await setAge(ids[0]!, past, past); // 1 ms past the cutoff: removed
    await setAge(ids[1]!, cutoff, cutoff); // exactly at the cutoff: kept
    await setAge(ids[2]!, new Date(cutoff.getTime() - DAY), new Date(cutoff.getTime() - DAY)); // removed
    await setAge(ids[3]!, past, new Date(cutoff.getTime() + DAY)); // old event, delivery replayed since: kept
    // ids[4] is recent: kept. The failing event is old but its delivery is still due: kept.
    await setAge(failing, new Date(cutoff.getTime() - 10 * DAY), new Date(cutoff.getTime() - 10 * DAY));

    const result = await removeExpired(h!.hookgate.app, { now, batchSize: 2 });
    expect(result).toMatchObject({ ran: true, events: 2, deliveries: 4 });
    // 4 events older than the cutoff, examined 2 per batch.
    expect(result.batches).toBe(2);
    const left = await db.query<{ id: string }>("SELECT id FROM events ORDER BY id");
    expect(left.map((e) => e.id).sort()).toEqual([ids[1], ids[3], ids[4], failing].sort());
    expect(await counts()).toEqual({ events: 4, deliveries: 7, attempts: 7 });
    const [stillDue] = await db.query<{ status: string }>("SELECT status FROM deliveries WHERE id = $1", [
      retrying!.id,
    ]);
    expect(stillDue!.status).toBe("RETRYING");

    // Run again: nothing more to do.
    expect(await removeExpired(h!.hookgate.app, { now, batchSize: 2 })).toMatchObject({
      events: 0,
      deliveries: 0,
    });
  });

  it("HOOKGATE_RETENTION=off removes nothing", async () => {
    await setup("api");
    const id = (await publish(h!, "a.done", { i: 1 })).event.id;
    const db = h!.hookgate.app.db;
    await db.query(
      "UPDATE deliveries SET status = 'SUCCEEDED', next_attempt_at = NULL, updated_at = $2 WHERE event_id = $1",
      [id, new Date(0)],
    );
    await db.query("UPDATE events SET created_at = $2 WHERE id = $1", [id, new Date(0)]);
    const off = { ...h!.hookgate.app, config: { ...h!.hookgate.app.config, retentionMs: 0 } };
    expect(await removeExpired(off)).toMatchObject({ ran: false, events: 0 });
    expect((await counts()).events).toBe(1);
    // The same rows go with retention on.
    expect(await removeExpired(h!.hookgate.app)).toMatchObject({ ran: true, events: 1, deliveries: 2 });
  });

  it("a process with the dispatcher role runs it by itself at start", async () => {
    // First an api-only process creates old, finished rows (it runs no retention)...
    await setup("api");
    const id = (await publish(h!, "a.done", { i: 1 })).event.id;
    const db = h!.hookgate.app.db;
    await db.query(
      "UPDATE deliveries SET status = 'SUCCEEDED', next_attempt_at = NULL, updated_at = $2 WHERE event_id = $1",
      [id, new Date(Date.now() - 40 * DAY)],
    );
    await db.query("UPDATE events SET created_at = $2 WHERE id = $1", [id, new Date(Date.now() - 40 * DAY)]);
    await new Promise((r) => setTimeout(r, 200));
    expect((await counts()).events).toBe(1);
    // ...then a dispatcher starts on the same database and removes them without being asked.
    const { startHookgate } = await import("../../src/app.js");
    const dispatcher = await startHookgate(h!.config, { db, role: "dispatcher" });
    try {
      await until(
        async () => (await counts()).events === 0,
        20_000,
        () => "retention at dispatcher start",
      );
      expect(await counts()).toEqual({ events: 0, deliveries: 0, attempts: 0 });
    } finally {
      await dispatcher.stop();
    }
  });
});
