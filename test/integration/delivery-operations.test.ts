import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DELIVERY_UPDATES_CHANNEL,
  type DeliveryUpdateSignal,
  decodeDeliveryUpdate,
} from "../../src/domain/signals.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import {
  attemptsOf,
  createEndpoint,
  createEventType,
  deliveriesOf,
  deliveryRow,
  FAST,
  publish,
  type Receiver,
  startReceiver,
  until,
  waitForStatus,
} from "./delivery-fixtures.js";

const TEST_ENDPOINT = `mutation($id: ID!, $type: String!) { testEndpoint(id: $id, eventType: $type) {
  __typename ... on TestEndpointPayload { delivery { id status eventType event { id test payload } } }
  ... on ValidationError { fieldErrors { path message } } ... on Error { message code } } }`;
const REPLAY = `mutation($id: ID!, $url: String) { replayDelivery(id: $id, url: $url) {
  __typename ... on ReplayDeliveryPayload { delivery { id status } }
  ... on ValidationError { fieldErrors { path message } } ... on Error { message code } } }`;
const RECOVER = `mutation($id: ID!, $since: DateTime!, $until: DateTime) { recoverEndpoint(id: $id, since: $since, until: $until) {
  __typename ... on RecoverEndpointPayload { count }
  ... on ValidationError { fieldErrors { path message } } ... on Error { message code } } }`;

function headersOf(req: { headers: Record<string, unknown> }) {
  return {
    "webhook-id": String(req.headers["webhook-id"]),
    "webhook-timestamp": String(req.headers["webhook-timestamp"]),
    "webhook-signature": String(req.headers["webhook-signature"]),
  };
}

async function setStatus(h: TestHookgate, id: string, status: "ENABLED" | "DISABLED") {
  const res = ok(
    await h.gql(
      `mutation($id: ID!, $s: EndpointStatus) { updateEndpoint(id: $id, input: { status: $s }) { __typename } }`,
      { id, s: status },
    ),
  );
  expect(res.updateEndpoint.__typename).toBe("UpdateEndpointPayload");
}

async function childKey(h: TestHookgate) {
  const t = ok(
    await h.gql(
      `mutation { createTenant(input: { name: "c" }) { ... on CreateTenantPayload { tenant { id } } } }`,
    ),
  );
  const k = ok(
    await h.gql(
      `mutation($t: ID) { createApiKey(input: { name: "c", scopes: [ADMIN], tenantId: $t }) { ... on CreateApiKeyPayload { key } } }`,
      { t: t.createTenant.tenant.id },
    ),
  );
  return k.createApiKey.key as string;
}

describe("testEndpoint, replayDelivery, recoverEndpoint, secret rotation", () => {
  let h: TestHookgate;
  const rxs: Receiver[] = [];
  const receiver = async () => {
    const r = await startReceiver();
    rxs.push(r);
    return r;
  };
  let otherKey: string;

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: { ...FAST, retryScheduleMs: [] } });
    await createEventType(h, "ping.test");
    for (const t of ["op.test", "op.replay", "op.busy", "op.recover", "op.rotate", "op.signal"])
      await createEventType(h, t);
    otherKey = await childKey(h);
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.all(rxs.map((r) => r.close()));
  });

  it("testEndpoint sends a test event to that endpoint only, whatever its filter, even when disabled", async () => {
    const rx = await receiver();
    const bystander = await receiver();
    const ep = await createEndpoint(h, rx.url, { events: ["op.test"] });
    await createEndpoint(h, bystander.url, { events: ["ping.*"] });
    const res = ok(await h.gql(TEST_ENDPOINT, { id: ep.id, type: "ping.test" })).testEndpoint;
    expect(res.__typename).toBe("TestEndpointPayload");
    expect(res.delivery.event.test).toBe(true);
    expect(res.delivery.eventType).toBe("ping.test");
    const [req] = await rx.waitFor(1);
    const body = JSON.parse(req.body);
    expect(body.type).toBe("ping.test");
    expect(body.data.test).toBe(true);
    expect(new Webhook(ep.secret).verify(req.body, headersOf(req))).toEqual(body);
    await waitForStatus(h, res.delivery.id, "SUCCEEDED");
    expect((await attemptsOf(h, res.delivery.id))[0].trigger).toBe("TEST");
    expect(bystander.requests).toHaveLength(0);

    await setStatus(h, ep.id, "DISABLED");
    const again = ok(await h.gql(TEST_ENDPOINT, { id: ep.id, type: "ping.test" })).testEndpoint;
    await waitForStatus(h, again.delivery.id, "SUCCEEDED");
    expect(rx.requests).toHaveLength(2);

    const unknown = ok(await h.gql(TEST_ENDPOINT, { id: ep.id, type: "no.such" })).testEndpoint;
    expect(unknown.__typename).toBe("ValidationError");
    expect(unknown.fieldErrors[0].path).toBe("eventType");
    const foreign = ok(await h.gql(TEST_ENDPOINT, { id: ep.id, type: "ping.test" }, otherKey)).testEndpoint;
    expect(foreign.__typename).toBe("NotFoundError");
  });

  it("replayDelivery makes one more attempt now, to the endpoint or once to another url", async () => {
    const rx = await receiver();
    const elsewhere = await receiver();
    let answer = 500;
    rx.handle((_req, res) => {
      res.statusCode = answer;
      res.end();
    });
    const ep = await createEndpoint(h, rx.url, { events: ["op.replay"] });
    const pub = await publish(h, "op.replay", { replay: 1 });
    const [d] = await deliveriesOf(h, pub.event.id);
    await waitForStatus(h, d.id, "FAILED");

    // To another url: that attempt only; the delivery goes back to its endpoint's url afterwards.
    const r1 = ok(await h.gql(REPLAY, { id: d.id, url: elsewhere.url })).replayDelivery;
    expect(r1.__typename).toBe("ReplayDeliveryPayload");
    const [moved] = await elsewhere.waitFor(1);
    expect(new Webhook(ep.secret).verify(moved.body, headersOf(moved))).toBeTruthy();
    const afterMoved = await waitForStatus(h, d.id, "SUCCEEDED");
    expect(afterMoved.target_url).toBeNull();
    expect(afterMoved.trigger).toBe("SCHEDULED");

    answer = 200;
    const r2 = ok(await h.gql(REPLAY, { id: d.id })).replayDelivery;
    expect(r2.__typename).toBe("ReplayDeliveryPayload");
    await until(
      async () => (await attemptsOf(h, d.id)).length === 3,
      5000,
      () => "third attempt",
    );
    await waitForStatus(h, d.id, "SUCCEEDED");
    const attempts = await attemptsOf(h, d.id);
    expect(attempts.map((a) => [a.attempt_number, a.trigger, a.url, a.response_code])).toEqual([
      [1, "SCHEDULED", rx.url, 500],
      [2, "REPLAY", elsewhere.url, 200],
      [3, "REPLAY", rx.url, 200],
    ]);
    // A replay elsewhere says nothing about the endpoint; its own success cleared failing_since.
    const epRow = (await h.hookgate.app.db.query<any>("SELECT * FROM endpoints WHERE id = $1", [ep.id]))[0];
    expect(epRow.failing_since).toBeNull();
    // Replaying a 2xx is allowed too (e.g. the receiver lost it); every replay is an attempt.
    expect(rx.requests).toHaveLength(2);
  });

  it("replay and recover announce each re-queued delivery to live listeners after commit", async () => {
    const rx = await receiver();
    rx.handle((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    await createEndpoint(h, rx.url, { events: ["op.signal"] });
    const pub = await publish(h, "op.signal", { n: 1 });
    const [d] = await deliveriesOf(h, pub.event.id);
    await waitForStatus(h, d.id, "FAILED");
    const seen: DeliveryUpdateSignal[] = [];
    const unlisten = await h.hookgate.app.db.listen(DELIVERY_UPDATES_CHANNEL, (p) => {
      const s = decodeDeliveryUpdate(p);
      if (s && s.d === d.id) seen.push(s);
    });
    try {
      expect(ok(await h.gql(REPLAY, { id: d.id })).replayDelivery.__typename).toBe("ReplayDeliveryPayload");
      await until(
        async () => seen.some((s) => s.s === "RETRYING"),
        5000,
        () => `replay signal, saw ${JSON.stringify(seen)}`,
      );
      await waitForStatus(h, d.id, "FAILED");
      const since = new Date(Date.now() - 60_000).toISOString();
      const before = seen.length;
      const r = ok(await h.gql(RECOVER, { id: d.endpoint_id, since })).recoverEndpoint;
      expect(r.count).toBe(1);
      await until(
        async () => seen.slice(before).some((s) => s.s === "RETRYING"),
        5000,
        () => `recover signal, saw ${JSON.stringify(seen.slice(before))}`,
      );
      const signal = seen.find((s) => s.s === "RETRYING")!;
      expect(signal).toMatchObject({ a: null, e: d.endpoint_id, y: "op.signal" });
      expect(signal.t).toMatch(/^\/.+\/$/);
    } finally {
      await unlisten();
    }
  });

  it("replayDelivery validates the url, refuses while sending, and is tenant-confined", async () => {
    const rx = await receiver();
    let release: (() => void) | null = null;
    rx.handle(
      (_req, res) =>
        new Promise<void>((resolve) => {
          release = () => {
            res.end();
            resolve();
          };
        }),
    );
    await createEndpoint(h, rx.url, { events: ["op.busy"] });
    const pub = await publish(h, "op.busy", { replay: 2 });
    const [d] = await deliveriesOf(h, pub.event.id);
    await rx.waitFor(1);
    expect((await deliveryRow(h, d.id)).status).toBe("SENDING");
    const busy = ok(await h.gql(REPLAY, { id: d.id })).replayDelivery;
    expect(busy.__typename).toBe("ConflictError");
    release!();
    await waitForStatus(h, d.id, "SUCCEEDED");

    for (const url of ["ftp://example.com/x", "http://169.254.169.254/latest", "not a url"]) {
      const bad = ok(await h.gql(REPLAY, { id: d.id, url })).replayDelivery;
      expect(bad.__typename).toBe("ValidationError");
      expect(bad.fieldErrors[0].path).toBe("url");
    }
    const foreign = ok(await h.gql(REPLAY, { id: d.id }, otherKey)).replayDelivery;
    expect(foreign.__typename).toBe("NotFoundError");
    const wrongKind = ok(await h.gql(REPLAY, { id: pub.event.id })).replayDelivery;
    expect(wrongKind.__typename).toBe("NotFoundError");
  });

  it("recoverEndpoint re-queues failed deliveries in the window; window edges; disabled endpoints refused", async () => {
    const rx = await receiver();
    let answer = 500;
    rx.handle((_req, res) => {
      res.statusCode = answer;
      res.end();
    });
    const ep = await createEndpoint(h, rx.url, { events: ["op.recover"] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const pub = await publish(h, "op.recover", { recover: i });
      const [d] = await deliveriesOf(h, pub.event.id);
      ids.push(d.id);
    }
    for (const id of ids) await waitForStatus(h, id, "FAILED");
    answer = 200;
    const now = Date.now();
    const day = 24 * 3600_000;

    const reversed = ok(
      await h.gql(RECOVER, {
        id: ep.id,
        since: new Date(now).toISOString(),
        until: new Date(now).toISOString(),
      }),
    ).recoverEndpoint;
    expect(reversed.__typename).toBe("ValidationError");
    const tooWide = ok(
      await h.gql(RECOVER, {
        id: ep.id,
        since: new Date(now - 30 * day - 1).toISOString(),
        until: new Date(now).toISOString(),
      }),
    ).recoverEndpoint;
    expect(tooWide.__typename).toBe("ValidationError");
    // A window before the deliveries existed recovers nothing.
    const empty = ok(
      await h.gql(RECOVER, {
        id: ep.id,
        since: new Date(now - 30 * day).toISOString(),
        until: new Date(now - 60_000).toISOString(),
      }),
    ).recoverEndpoint;
    expect(empty).toEqual({ __typename: "RecoverEndpointPayload", count: 0 });

    await setStatus(h, ep.id, "DISABLED");
    const disabled = ok(
      await h.gql(RECOVER, { id: ep.id, since: new Date(now - day).toISOString() }),
    ).recoverEndpoint;
    expect(disabled.__typename).toBe("ConflictError");
    await setStatus(h, ep.id, "ENABLED");

    const foreign = ok(
      await h.gql(RECOVER, { id: ep.id, since: new Date(now - day).toISOString() }, otherKey),
    ).recoverEndpoint;
    expect(foreign.__typename).toBe("NotFoundError");

    const recovered = ok(
      await h.gql(RECOVER, { id: ep.id, since: new Date(now - day).toISOString() }),
    ).recoverEndpoint;
    expect(recovered).toEqual({ __typename: "RecoverEndpointPayload", count: 3 });
    for (const id of ids) {
      await waitForStatus(h, id, "SUCCEEDED");
      const attempts = await attemptsOf(h, id);
      expect(attempts.map((a) => [a.attempt_number, a.trigger, a.response_code])).toEqual([
        [1, "SCHEDULED", 500],
        [2, "REPLAY", 200],
      ]);
    }
    // Nothing left to recover.
    const again = ok(
      await h.gql(RECOVER, { id: ep.id, since: new Date(now - day).toISOString() }),
    ).recoverEndpoint;
    expect(again.count).toBe(0);
  });

  it("signs with both secrets during a rotation's grace period, then with the new one only", async () => {
    const rx = await receiver();
    const ep = await createEndpoint(h, rx.url, { events: ["op.rotate"] });
    const rotate = async (grace: number) => {
      const res = ok(
        await h.gql(
          `mutation($id: ID!, $g: Int) { rotateEndpointSecret(id: $id, input: { gracePeriodSeconds: $g }) {
            __typename ... on RotateEndpointSecretPayload { secret } ... on Error { message } } }`,
          { id: ep.id, g: grace },
        ),
      );
      expect(res.rotateEndpointSecret.__typename).toBe("RotateEndpointSecretPayload");
      return res.rotateEndpointSecret.secret as string;
    };
    const second = await rotate(3600);
    await publish(h, "op.rotate", { rotation: 1 });
    const [req] = await rx.waitFor(1);
    expect(String(req.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(String(req.headers["hookgate-signature"]).match(/v1=/g)).toHaveLength(2);
    expect(new Webhook(ep.secret).verify(req.body, headersOf(req))).toBeTruthy();
    expect(new Webhook(second).verify(req.body, headersOf(req))).toBeTruthy();

    const third = await rotate(0);
    await publish(h, "op.rotate", { rotation: 2 });
    const [, req2] = await rx.waitFor(2);
    expect(String(req2.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(new Webhook(third).verify(req2.body, headersOf(req2))).toBeTruthy();
    expect(() => new Webhook(second).verify(req2.body, headersOf(req2))).toThrow();
    expect(() => new Webhook(ep.secret).verify(req2.body, headersOf(req2))).toThrow();
  });
});
