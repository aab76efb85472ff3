/*
 * Tenant delivery profiles: a platform whose receivers verify `Chronapilot-Signature: t=...,v1=...`
 * (Stripe's scheme, checked here with the `stripe` package) and expect `Chronapilot/<version>` moves
 * onto Hookgate by setting its tenant's profile; sub-tenants inherit it and may override it; every
 * delivery path (publish, testEndpoint, replayDelivery) uses it; tenants that set nothing get the
 * defaults. Also who may set it (ADMIN, own tenant or below) and which names are refused.
 */
import Stripe from "stripe";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HOOKGATE_VERSION } from "../../src/version.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { expectNothingChanged } from "../support/matrix.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type ReceivedRequest,
  type Receiver,
  startReceiver,
  until,
} from "./delivery-fixtures.js";
import { createKey, createTenant, rootTenant } from "./read-fixtures.js";

const stripe = new Stripe("sk_test_not_used_no_requests_are_made");

const UPDATE = `mutation($tenantId: ID, $input: DeliveryProfileInput!) {
  updateTenantDeliveryProfile(tenantId: $tenantId, input: $input) {
    __typename
    ... on UpdateTenantDeliveryProfilePayload {
      tenant { id deliveryProfile { signatureHeader userAgentProduct userAgent standardWebhooksHeaders } }
      deliveryProfile { signatureHeader userAgentProduct userAgent standardWebhooksHeaders }
    }
    ... on ValidationError { message fieldErrors { path message } }
    ... on NotFoundError { message }
    ... on Error { code }
  } }`;

const READ = `query($id: ID!) { tenant(id: $id) {
  deliveryProfile { signatureHeader userAgentProduct userAgent standardWebhooksHeaders } } }`;

const TEST_ENDPOINT = `mutation($id: ID!) { testEndpoint(id: $id, eventType: "invoice.paid") {
  __typename ... on TestEndpointPayload { delivery { id } } ... on Error { message } } }`;
const REPLAY = `mutation($id: ID!) { replayDelivery(id: $id) {
  __typename ... on ReplayDeliveryPayload { delivery { id } } ... on Error { message } } }`;

const WEBHOOK_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"];

describe("tenant delivery profile", () => {
  let h: TestHookgate;
  let rx: Receiver;
  let platformId: string;
  let childId: string;

  async function update(tenantId: string | null, input: Record<string, unknown>, key?: string) {
    return ok(await h.gql(UPDATE, { tenantId, input }, key)).updateTenantDeliveryProfile;
  }

  /** Publishes to the tenant's endpoint and returns the request the receiver got for it. */
  async function deliverTo(tenantId: string, n: number): Promise<ReceivedRequest> {
    const published = await publish(h, "invoice.paid", { n }, { tenantId });
    expect(published.__typename).toBe("PublishEventPayload");
    const id = published.event.id as string;
    return until(
      () => rx.requests.find((r) => r.body.includes(`"id":"${id}"`)),
      20_000,
      () => `delivery of event ${n}`,
    );
  }

  beforeEach(async () => {
    h = await startTestHookgate({ role: "all", config: { ...FAST } });
    rx = await startReceiver();
    const root = await rootTenant(h);
    platformId = (await createTenant(h, "Chronapilot", root.id)).id;
    childId = (await createTenant(h, "Chronapilot customer", platformId)).id;
    await createEventType(h, "invoice.paid");
  });
  afterEach(async () => {
    await h?.stop();
    await rx?.close();
  });

  it("a Chronapilot-style receiver verifies its own header with Stripe's library, on every delivery path", async () => {
    const set = await update(platformId, {
      signatureHeader: "Chronapilot-Signature",
      userAgentProduct: "Chronapilot",
      standardWebhooksHeaders: false,
    });
    expect(set.__typename).toBe("UpdateTenantDeliveryProfilePayload");
    const expected = {
      signatureHeader: "chronapilot-signature",
      userAgentProduct: "Chronapilot",
      userAgent: `Chronapilot/${HOOKGATE_VERSION}`,
      standardWebhooksHeaders: false,
    };
    expect(set.deliveryProfile).toEqual(expected);
    expect(set.tenant.deliveryProfile).toEqual(expected);

    const ep = await createEndpoint(h, rx.url, { events: ["invoice.paid"], tenantId: platformId });
    const check = (req: ReceivedRequest) => {
      const event = stripe.webhooks.constructEvent(
        req.body,
        String(req.headers["chronapilot-signature"]),
        ep.secret,
      );
      expect(event.type).toBe("invoice.paid");
      expect(req.headers["user-agent"]).toBe(`Chronapilot/${HOOKGATE_VERSION}`);
      for (const name of [...WEBHOOK_HEADERS, "hookgate-signature"])
        expect(req.headers[name]).toBeUndefined();
      // A wrong secret fails: the check above could fail.
      expect(() =>
        stripe.webhooks.constructEvent(req.body, String(req.headers["chronapilot-signature"]), "whsec_other"),
      ).toThrow();
    };

    const first = await deliverTo(platformId, 1);
    check(first);

    const test = ok(await h.gql(TEST_ENDPOINT, { id: ep.id }));
    expect(test.testEndpoint.__typename).toBe("TestEndpointPayload");
    await rx.waitFor(2);
    check(rx.requests[1]!);
    expect(rx.requests[1]!.headers["hookgate-test"]).toBe("1");

    const delivery = await until(() =>
      h.hookgate.app.prisma.delivery.findFirst({
        where: { endpointId: ep.id, status: "SUCCEEDED", event: { test: false } },
      }),
    );
    const replay = ok(await h.gql(REPLAY, { id: delivery.id }));
    expect(replay.replayDelivery.__typename).toBe("ReplayDeliveryPayload");
    await rx.waitFor(3);
    check(rx.requests[2]!);

    // The recorded attempt names the header as sent (its value redacted like every signature).
    const attempt = await until(() =>
      h.hookgate.app.prisma.attempt.findFirst({
        where: { deliveryId: delivery.id },
        orderBy: { createdAt: "asc" },
      }),
    );
    const recorded = attempt.requestHeaders as Record<string, string>;
    expect(Object.keys(recorded)).toContain("chronapilot-signature");
    expect(recorded["user-agent"]).toBe(`Chronapilot/${HOOKGATE_VERSION}`);
    expect(recorded["webhook-id"]).toBeUndefined();
  });

  it("sub-tenants inherit, may override and clear; changes apply from the next delivery; defaults unchanged", async () => {
    const root = await rootTenant(h);
    await createEndpoint(h, rx.url, { events: ["invoice.paid"], tenantId: root.id });
    await createEndpoint(h, rx.url, { events: ["invoice.paid"], tenantId: childId });

    // Nobody set anything: the defaults, as before profiles existed.
    const plain = await deliverTo(root.id, 1);
    expect(plain.headers["user-agent"]).toBe(`Hookgate/${HOOKGATE_VERSION}`);
    expect(plain.headers["hookgate-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    for (const name of WEBHOOK_HEADERS) expect(plain.headers[name]).toBeDefined();
    const before = await deliverTo(childId, 2);
    expect(before.headers["hookgate-signature"]).toBeDefined();

    await update(platformId, { signatureHeader: "Chronapilot-Signature", userAgentProduct: "Chronapilot" });
    const readChild = async () => ok(await h.gql(READ, { id: childId })).tenant.deliveryProfile;
    expect(await readChild()).toEqual({
      signatureHeader: "chronapilot-signature",
      userAgentProduct: "Chronapilot",
      userAgent: `Chronapilot/${HOOKGATE_VERSION}`,
      standardWebhooksHeaders: true,
    });
    // The same endpoint's next delivery carries the inherited profile (its template was cached).
    const inherited = await deliverTo(childId, 3);
    expect(inherited.headers["chronapilot-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(inherited.headers["hookgate-signature"]).toBeUndefined();
    expect(inherited.headers["user-agent"]).toBe(`Chronapilot/${HOOKGATE_VERSION}`);
    for (const name of WEBHOOK_HEADERS) expect(inherited.headers[name]).toBeDefined();

    // The child overrides one setting; the rest stays inherited.
    const child = await update(childId, { userAgentProduct: "Acme-Billing", standardWebhooksHeaders: false });
    expect(child.deliveryProfile).toEqual({
      signatureHeader: "chronapilot-signature",
      userAgentProduct: "Acme-Billing",
      userAgent: `Acme-Billing/${HOOKGATE_VERSION}`,
      standardWebhooksHeaders: false,
    });
    const overridden = await deliverTo(childId, 4);
    expect(overridden.headers["user-agent"]).toBe(`Acme-Billing/${HOOKGATE_VERSION}`);
    expect(overridden.headers["chronapilot-signature"]).toBeDefined();
    for (const name of WEBHOOK_HEADERS) expect(overridden.headers[name]).toBeUndefined();

    // Omitted fields stay; null clears back to the parent's value.
    const cleared = await update(childId, { userAgentProduct: null });
    expect(cleared.deliveryProfile.userAgentProduct).toBe("Chronapilot");
    expect(cleared.deliveryProfile.standardWebhooksHeaders).toBe(false);

    // The root (and thus its own endpoint) never changed.
    const rootAgain = await deliverTo(root.id, 5);
    expect(rootAgain.headers["user-agent"]).toBe(`Hookgate/${HOOKGATE_VERSION}`);
    expect(rootAgain.headers["hookgate-signature"]).toBeDefined();
    expect(ok(await h.gql(READ, { id: root.id })).tenant.deliveryProfile.signatureHeader).toBe(
      "hookgate-signature",
    );
  });

  it("refuses bad names with the field path, at and past each edge, writing nothing", async () => {
    const at = `x${"a".repeat(63)}`;
    const past = `${at}b`;
    expect(at.length).toBe(64);
    const good = await update(platformId, { signatureHeader: at, userAgentProduct: at });
    expect(good.deliveryProfile.signatureHeader).toBe(at);
    expect(good.deliveryProfile.userAgentProduct).toBe(at);
    // The default name itself may be set explicitly.
    expect(
      (await update(platformId, { signatureHeader: "Hookgate-Signature" })).deliveryProfile.signatureHeader,
    ).toBe("hookgate-signature");

    const refused: [Record<string, unknown>, string, RegExp][] = [
      [{ signatureHeader: past }, "input.signatureHeader", /1 to 64/],
      [{ signatureHeader: "" }, "input.signatureHeader", /1 to 64/],
      [{ userAgentProduct: past }, "input.userAgentProduct", /1 to 64/],
      [{ userAgentProduct: "" }, "input.userAgentProduct", /1 to 64/],
      [{ userAgentProduct: "Chronapilot/2" }, "input.userAgentProduct", /only letters/],
      [{ userAgentProduct: "Chrona pilot" }, "input.userAgentProduct", /only letters/],
      [{ signatureHeader: "Chronapilot Signature" }, "input.signatureHeader", /only letters/],
      [{ signatureHeader: "x-sig:" }, "input.signatureHeader", /only letters/],
      [{ signatureHeader: "x-sig\r\nhost" }, "input.signatureHeader", /only letters/],
    ];
    for (const name of [
      "Host",
      "content-length",
      "Content-Type",
      "transfer-encoding",
      "connection",
      "keep-alive",
      "upgrade",
      "te",
      "user-agent",
      "webhook-id",
      "webhook-signature",
      "Webhook-Timestamp",
      "hookgate-test",
      "proxy-authorization",
    ]) {
      refused.push([{ signatureHeader: name }, "input.signatureHeader", /reserved/]);
    }
    for (const [input, path, message] of refused) {
      const res = await expectNothingChanged(h, () => update(platformId, input));
      expect(res.__typename, JSON.stringify(input)).toBe("ValidationError");
      expect(res.fieldErrors).toHaveLength(1);
      expect(res.fieldErrors[0].path).toBe(path);
      expect(res.fieldErrors[0].message).toMatch(message);
    }
    // Both fields wrong: both named at once.
    const both = await update(platformId, { signatureHeader: "host", userAgentProduct: "a b" });
    expect(both.fieldErrors.map((e: { path: string }) => e.path).sort()).toEqual([
      "input.signatureHeader",
      "input.userAgentProduct",
    ]);
  });

  it("only ADMIN keys may set it, and only on their own tenant or below", async () => {
    const writer = await createKey(h, platformId, ["ENDPOINTS_WRITE", "ENDPOINTS_READ", "EVENTS_PUBLISH"]);
    const forbidden = await expectNothingChanged(h, () =>
      h.gql(UPDATE, { tenantId: platformId, input: { userAgentProduct: "Nope" } }, writer),
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    // The child's ADMIN key can set its own profile but cannot reach its parent or a sibling.
    const childAdmin = await createKey(h, childId, ["ADMIN"]);
    expect(
      (await update(null, { userAgentProduct: "Own" }, childAdmin)).deliveryProfile.userAgentProduct,
    ).toBe("Own");
    const root = await rootTenant(h);
    const sibling = await createTenant(h, "sibling", root.id);
    for (const id of [platformId, sibling.id, root.id, "tenant_doesnotexist"]) {
      const res = await expectNothingChanged(h, () => update(id, { userAgentProduct: "Nope" }, childAdmin));
      expect(res.__typename).toBe("NotFoundError");
      expect(res.message).toContain(id);
    }
    // The parent's ADMIN key reaches the child.
    const platformAdmin = await createKey(h, platformId, ["ADMIN"]);
    const fromParent = await update(childId, { userAgentProduct: null }, platformAdmin);
    expect(fromParent.deliveryProfile.userAgentProduct).toBe("Hookgate");
  });
});
