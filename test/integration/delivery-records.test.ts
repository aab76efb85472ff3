/**
 * What a delivery leaves behind besides the request: `lastAttemptAt` on the delivery, the delivery counters of
 * /metrics, and the delivery log read backwards (`last`/`before`) giving the same rows as forwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  waitForStatus,
} from "./delivery-fixtures.js";

let h: TestHookgate;
let rx: Receiver;

beforeAll(async () => {
  h = await startTestHookgate({ role: "all", config: { ...FAST } });
  rx = await startReceiver();
  await createEventType(h, "record.check");
}, 180_000);
afterAll(async () => {
  await h?.stop();
  await rx?.close();
});

/** The value of one sample line of /metrics (0 when absent). */
async function metric(name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

const DELIVERY = `query($id: ID!) { delivery(id: $id) { status lastAttemptAt
  attempts(first: 10) { edges { node { attemptNumber createdAt } } } } }`;

describe("delivery records", { timeout: 120_000 }, () => {
  it("sets lastAttemptAt to the time of the latest attempt, null before any", async () => {
    await createEndpoint(h, rx.url, { events: ["record.check"] });
    // The receiver fails the first attempt, so there are two to compare.
    let calls = 0;
    rx.handle((_req, res) => {
      res.statusCode = ++calls === 1 ? 500 : 200;
      res.end();
    });
    const published = await publish(h, "record.check", { n: 1 });
    const deliveryId = ok(
      await h.gql(
        `query($id: ID!) { event(id: $id) { deliveries { edges { node { id lastAttemptAt } } } } }`,
        {
          id: published.event.id,
        },
      ),
    ).event.deliveries.edges[0].node.id as string;
    await waitForStatus(h, deliveryId, "SUCCEEDED");
    const d = ok(await h.gql(DELIVERY, { id: deliveryId })).delivery;
    const attempts = d.attempts.edges.map((e: any) => e.node);
    expect(attempts.map((a: any) => a.attemptNumber).sort()).toEqual([1, 2]);
    const latest = Math.max(...attempts.map((a: any) => Date.parse(a.createdAt)));
    // The attempt row and the delivery are written in one completion: within a second of each other.
    expect(d.lastAttemptAt).not.toBeNull();
    expect(Math.abs(Date.parse(d.lastAttemptAt) - latest)).toBeLessThan(1000);
    expect(Date.parse(d.lastAttemptAt)).toBeGreaterThanOrEqual(
      Math.min(...attempts.map((a: any) => Date.parse(a.createdAt))),
    );

    // A delivery not attempted yet has none: one to an endpoint that is disabled.
    const off = await createEndpoint(h, rx.url, { events: ["record.check"] });
    ok(
      await h.gql(
        `mutation($id: ID!) { updateEndpoint(id: $id, input: { status: DISABLED }) { __typename } }`,
        {
          id: off.id,
        },
      ),
    );
    const row = await h.hookgate.app.prisma.delivery.create({
      data: {
        id: `dlv_${Date.now()}untried`,
        eventId: published.event.id,
        endpointId: off.id,
        tenantId: (await h.hookgate.app.prisma.endpoint.findUniqueOrThrow({ where: { id: off.id } }))
          .tenantId,
        eventType: "record.check",
        status: "CANCELLED",
        nextAttemptAt: null,
      },
    });
    expect(ok(await h.gql(DELIVERY, { id: row.id })).delivery.lastAttemptAt).toBeNull();
  });

  it("counts published events, created deliveries and attempts by outcome in /metrics", async () => {
    const ep = await createEndpoint(h, rx.url, { events: ["record.check"] });
    expect(ep.id).toMatch(/^ep_/);
    rx.handle((_req, res) => {
      res.end("ok");
    });
    const before = {
      events: await metric("hookgate_events_published_total"),
      deliveries: await metric("hookgate_deliveries_created_total"),
      succeeded: await metric("hookgate_delivery_attempts_total", '{outcome="succeeded"}'),
      durations: await metric("hookgate_delivery_attempt_duration_seconds_count"),
    };
    const received = rx.requests.length;
    // Every endpoint of this file matching record.check gets one delivery per event.
    const endpoints = await h.hookgate.app.prisma.endpoint.count({ where: { status: "ENABLED" } });
    for (let i = 0; i < 3; i++) await publish(h, "record.check", { i });
    await rx.waitFor(received + 3 * endpoints);
    const deadline = Date.now() + 10_000;
    let succeeded = before.succeeded;
    while (succeeded < before.succeeded + 3 * endpoints && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      succeeded = await metric("hookgate_delivery_attempts_total", '{outcome="succeeded"}');
    }
    expect(await metric("hookgate_events_published_total")).toBe(before.events + 3);
    expect(await metric("hookgate_deliveries_created_total")).toBe(before.deliveries + 3 * endpoints);
    expect(succeeded).toBe(before.succeeded + 3 * endpoints);
    expect(await metric("hookgate_delivery_attempt_duration_seconds_count")).toBe(
      before.durations + 3 * endpoints,
    );
  });

  it("reads the delivery log backwards (last/before) as the same rows as forwards", async () => {
    const PAGE = `query($first: Int, $after: String, $last: Int, $before: String) {
      deliveries(first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } }`;
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = ok(await h.gql(PAGE, { first: 2, after })).deliveries;
      all.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(all.length).toBeGreaterThanOrEqual(5);
    const back: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: any = ok(await h.gql(PAGE, { last: 2, before })).deliveries;
      back.unshift(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(back).toEqual(all);
    expect(new Set(all).size).toBe(all.length);
  });
});
