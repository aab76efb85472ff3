import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
  waitForStatus,
} from "../integration/delivery-fixtures.js";
import { cliRunner, json } from "../support/cli.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// `hookgate events list`, `deliveries list|get|replay|recover` and `attempts list` as child processes against
// a real Hookgate (PGlite and PostgreSQL): filters, paging through connections, and the progress line.

describe("hookgate deliveries, attempts and events list", { timeout: 240_000 }, () => {
  let h: TestHookgate;
  let receiver: Receiver;
  let cli: ReturnType<typeof cliRunner>;
  let good: string;
  let bad: string;
  const events: string[] = [];

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: FAST });
    // /fail answers 500, anything else 200.
    receiver = await startReceiver((req, res) => {
      res.statusCode = req.url.startsWith("/fail") ? 500 : 200;
      res.end(res.statusCode === 200 ? "ok" : "nope");
    });
    cli = cliRunner(h.url, h.adminKey);
    await createEventType(h, "order.created");
    await createEventType(h, "order.paid");
    const base = receiver.url.replace(/\/hook$/, "");
    good = (await createEndpoint(h, `${base}/ok`, { events: ["order.*"] })).id;
    await h.gql(
      `mutation { upsertEndpoint(uid: "failing", input: { url: "${base}/fail", events: ["order.created"] }) { __typename } }`,
    );
    bad = json(await cli(["endpoints", "get", "--uid", "failing", "--json"])).id;
    for (let i = 0; i < 3; i++) events.push((await publish(h, "order.created", { i })).event.id);
    events.push((await publish(h, "order.paid", { i: 3 })).event.id);
    // 3 to the failing endpoint (4 attempts each with FAST's 3 retries), 4 to the good one.
    await until(async () => {
      const rows = await h.hookgate.app.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM deliveries WHERE status IN ('SUCCEEDED', 'FAILED')",
      );
      return rows[0]!.n === 7;
    }, 60_000);
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.stop();
  });

  it("events list: newest first, filtered by type and time window", async () => {
    const all = json(await cli(["events", "list", "--json"]));
    expect(all.map((e: { id: string }) => e.id)).toEqual([...events].reverse());
    const created = json(await cli(["events", "list", "--type", "order.created", "--since", "1h", "--json"]));
    expect(created).toHaveLength(3);
    expect(json(await cli(["events", "list", "--until", "1h", "--json"]))).toEqual([]);
    expect(json(await cli(["events", "list", "--test", "--json"]))).toEqual([]);
    const table = await cli(["events", "list", "--limit", "2"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`│ ${events[3]}\\s+│ order\\.paid\\s+│`));
    expect(table.stdout.match(/│ evt_/g)).toHaveLength(2);
    expect(table.stderr).toBe("showing 2 of 4 events (--limit <n> or --all for more)\n");
  });

  it("deliveries list filters by endpoint (id or uid), status, event type and event", async () => {
    const failed = json(
      await cli(["deliveries", "list", "--uid", "failing", "--status", "failed", "--json"]),
    );
    expect(failed).toHaveLength(3);
    expect(
      failed.every(
        (d: { endpointId: string; status: string }) => d.endpointId === bad && d.status === "FAILED",
      ),
    ).toBe(true);
    const paid = json(
      await cli(["deliveries", "list", "--endpoint", good, "--event-type", "order.paid", "--json"]),
    );
    expect(paid.map((d: { eventId: string }) => d.eventId)).toEqual([events[3]]);
    const ofEvent = json(await cli(["deliveries", "list", "--event", events[0]!, "--json"]));
    expect(ofEvent.map((d: { endpointId: string }) => d.endpointId).sort()).toEqual([good, bad].sort());
    const table = await cli(["deliveries", "list", "--status", "SUCCEEDED,FAILED"]);
    expect(table.stdout.match(/│ dlv_/g)).toHaveLength(7);
    expect(table.stdout).toMatch(/│ dlv_\S+\s+│ FAILED\s+│ order\.created\s+│ ep_\S+\s+│ 4\s+│/);
  });

  it("deliveries get shows the attempts; attempts list filters them", async () => {
    const [failed] = json(await cli(["deliveries", "list", "--endpoint", bad, "--limit", "1", "--json"]));
    const table = await cli(["deliveries", "get", failed.id]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ status\s+│ FAILED\s+│/);
    expect(table.stdout.match(/│ att_\S+\s+│ \d\s+│ FAILED\s+│ 500\s+│/g)).toHaveLength(4);
    const got = json(await cli(["deliveries", "get", failed.id, "--attempts", "2", "--json"]));
    expect(got).toMatchObject({ id: failed.id, attemptTotal: 4 });
    expect(got.attempts.map((a: { attemptNumber: number }) => a.attemptNumber)).toEqual([4, 3]);

    const attempts = json(await cli(["attempts", "list", "--delivery", failed.id, "--json"]));
    expect(attempts).toHaveLength(4);
    expect(attempts.every((a: { responseCode: number }) => a.responseCode === 500)).toBe(true);
    const ok = json(await cli(["attempts", "list", "--status", "SUCCEEDED", "--endpoint", good, "--json"]));
    expect(ok).toHaveLength(4);
    expect(
      json(await cli(["attempts", "list", "--uid", "failing", "--status", "SUCCEEDED", "--json"])),
    ).toEqual([]);
  });

  it("deliveries replay (to the endpoint or --to another url) and recover re-queue failed deliveries", async () => {
    const [failed] = json(await cli(["deliveries", "list", "--endpoint", bad, "--limit", "1", "--json"]));
    const other = receiver.url.replace(/\/hook$/, "/elsewhere");
    const replayed = json(await cli(["deliveries", "replay", failed.id, "--to", other, "--json"]));
    expect(replayed.id).toBe(failed.id);
    await until(() => receiver.requests.some((r) => r.url === "/elsewhere"), 60_000);
    await waitForStatus(h, failed.id, "SUCCEEDED", 60_000);

    const recovered = await cli(["deliveries", "recover", "--uid", "failing", "--since", "1h"]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout).toMatch(/│ failing\s+│ 2\s+│/);
    const json2 = json(await cli(["deliveries", "recover", bad, "--since", "1h", "--json"]));
    expect(json2.count).toBeLessThanOrEqual(2);
  });

  it("typed errors and bad input are one line with a non-zero exit", async () => {
    const missing = await cli(["deliveries", "get", "dlv_01ZZZZZZZZZZZZZZZZZZZZZZZZ"]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: "hookgate: NOT_FOUND: delivery dlv_01ZZZZZZZZZZZZZZZZZZZZZZZZ not found\n",
    });
    const replay = await cli(["deliveries", "replay", "dlv_01ZZZZZZZZZZZZZZZZZZZZZZZZ"]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/^hookgate: NOT_FOUND: .+\n$/);
    const window = await cli(["deliveries", "recover", bad, "--since", "40d"]);
    expect(window.code).toBe(1);
    expect(window.stderr).toMatch(/^hookgate: VALIDATION_FAILED: .+\n$/);
    const badStatus = await cli(["attempts", "list", "--status", "RETRYING"]);
    expect(badStatus).toMatchObject({
      code: 2,
      stderr: "hookgate: --status: unknown value RETRYING; expected SUCCEEDED, FAILED\n",
    });
    const badTime = await cli(["deliveries", "list", "--since", "yesterday"]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/^hookgate: --since: expected an ISO date\/time/);
    for (const limit of ["0", "abc", "100001"]) {
      const res = await cli(["events", "list", "--limit", limit]);
      expect(res.code, limit).toBe(2);
      expect(res.stderr).toBe(`hookgate: --limit must be a whole number from 1 to 100000, got "${limit}"\n`);
    }
    const noEndpoint = await cli(["deliveries", "recover", "--since", "1h"]);
    expect(noEndpoint.code).toBe(2);
    const forbidden = await h.gql(
      `mutation { createApiKey(input: { name: "pub", scopes: [EVENTS_PUBLISH] }) { ... on CreateApiKeyPayload { key } } }`,
    );
    const refused = await cli(["deliveries", "list"], { key: forbidden.data.createApiKey.key });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^hookgate: FORBIDDEN: .+\n$/);
  });
});

describe("hookgate listings page through connections, with progress on a terminal", {
  timeout: 240_000,
}, () => {
  let h: TestHookgate;
  let cli: ReturnType<typeof cliRunner>;

  beforeAll(async () => {
    // No dispatcher: the 600 deliveries stay PENDING and nothing is sent.
    h = await startTestHookgate({ config: FAST });
    cli = cliRunner(h.url, h.adminKey);
    await createEventType(h, "bulk.item");
    for (let i = 0; i < 6; i++) await createEndpoint(h, `http://127.0.0.1:9/r${i}`, { events: ["bulk.*"] });
    const items = Array.from({ length: 100 }, (_, i) => ({ type: "bulk.item", payload: { i } }));
    const res = await h.gql(
      `mutation($input: PublishEventsInput!) { publishEvents(input: $input) { __typename } }`,
      { input: { events: items } },
    );
    expect(res.data.publishEvents.__typename).toBe("PublishEventsPayload");
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("--all pages past the 500-row page maximum; --limit stops early and says so", async () => {
    const all = json(await cli(["deliveries", "list", "--all", "--json"]));
    expect(all).toHaveLength(600);
    expect(new Set(all.map((d: { id: string }) => d.id)).size).toBe(600);
    const some = await cli(["deliveries", "list", "--limit", "550"]);
    expect(some.code, some.stderr).toBe(0);
    expect(some.stdout.match(/│ dlv_/g)).toHaveLength(550);
    // Not a terminal: no progress line, only the note that there is more.
    expect(some.stderr).toBe("showing 550 of 600 deliveries (--limit <n> or --all for more)\n");
  });

  it("shows a progress line only when stderr is a terminal and the output is not JSON", async () => {
    const tty = await cli(["deliveries", "list", "--all"], { tty: true });
    expect(tty.code, tty.stdout.slice(-500)).toBe(0);
    expect(tty.stdout).toContain("deliveries: 500 of 600…");
    expect(tty.stdout).toContain("deliveries: 600 of 600…");
    const ttyJson = await cli(["deliveries", "list", "--all", "--json"], { tty: true });
    expect(ttyJson.code).toBe(0);
    expect(ttyJson.stdout).not.toContain("of 600…");
    expect(ttyJson.stdout).toContain('"status": "PENDING"');

    const recover = await cli(["deliveries", "recover", "--all-endpoints", "--since", "1h"], { tty: true });
    expect(recover.code, recover.stdout.slice(-500)).toBe(0);
    expect(recover.stdout).toContain("recovering: 6 of 6 endpoints, 0 deliveries re-queued…");
    const piped = json(await cli(["deliveries", "recover", "--all-endpoints", "--since", "1h", "--json"]));
    expect(piped).toHaveLength(6);
    expect(piped.every((r: { count: number }) => r.count === 0)).toBe(true);
  });
});
