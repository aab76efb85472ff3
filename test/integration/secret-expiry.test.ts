/**
 * A rotated-out secret signs beside the new one for its grace period and not a moment after, at delivery time:
 * what the dispatcher actually sends, checked on the receiving side with the libraries receivers use
 * (`standardwebhooks` for webhook-signature, Stripe's for the t=/v1= hookgate-signature). The dispatcher picks
 * the secrets in its claim (`expires_at > now()`); no helper stands in for it here.
 */
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
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

/** Long enough for one delivery on a loaded machine; the test waits it out once. */
const GRACE_SECONDS = 8;
const OLD_SECRET = `whsec_${Buffer.alloc(24, 1).toString("base64")}`;

const stripe = new Stripe("sk_test_not_used_no_requests_are_made");

let h: TestHookgate;
let rx: Receiver;

beforeAll(async () => {
  h = await startTestHookgate({ role: "all", config: { ...FAST } });
  rx = await startReceiver();
  await createEventType(h, "secret.check");
});
afterAll(async () => {
  await h?.stop();
  await rx?.close();
});

async function deliverOne(n: number): Promise<ReceivedRequest> {
  const published = await publish(h, "secret.check", { n });
  expect(published.__typename).toBe("PublishEventPayload");
  const id = published.event.id;
  return until(
    () => rx.requests.find((r) => r.headers["webhook-id"] === id),
    20_000,
    () => `delivery of event ${n}`,
  );
}

/** Which of the secrets each header form verifies with, by each library. */
function verifiedBy(req: ReceivedRequest, secrets: Record<string, string>) {
  const standard: string[] = [];
  const stripeStyle: string[] = [];
  const headers = {
    "webhook-id": String(req.headers["webhook-id"]),
    "webhook-timestamp": String(req.headers["webhook-timestamp"]),
    "webhook-signature": String(req.headers["webhook-signature"]),
  };
  for (const [name, secret] of Object.entries(secrets)) {
    try {
      new Webhook(secret).verify(req.body, headers);
      standard.push(name);
    } catch {}
    try {
      stripe.webhooks.constructEvent(req.body, String(req.headers["hookgate-signature"]), secret);
      stripeStyle.push(name);
    } catch {}
  }
  return { standard, stripeStyle };
}

describe("secret rotation with a grace period, at delivery time", () => {
  it("signs with both secrets during the grace and only the new one after it, both header forms", async () => {
    const ep = await createEndpoint(h, rx.url, { events: ["secret.check"], secret: OLD_SECRET });
    expect(ep.secret).toBe(OLD_SECRET);

    const before = await deliverOne(0);
    expect(verifiedBy(before, { old: OLD_SECRET })).toEqual({ standard: ["old"], stripeStyle: ["old"] });

    const rotated = ok(
      await h.gql(
        `mutation($id: ID!, $input: RotateEndpointSecretInput) { rotateEndpointSecret(id: $id, input: $input) {
           ... on RotateEndpointSecretPayload { secret endpoint { secrets { expiresAt } } } } }`,
        { id: ep.id, input: { gracePeriodSeconds: GRACE_SECONDS } },
      ),
    ).rotateEndpointSecret;
    const newSecret: string = rotated.secret;
    const expiresAt = Date.parse(rotated.endpoint.secrets[1].expiresAt);
    const both = { old: OLD_SECRET, new: newSecret };

    const during = await deliverOne(1);
    // Signed before the old secret expired (else this machine was too slow for the grace chosen above).
    expect(Number(during.headers["webhook-timestamp"]) * 1000).toBeLessThan(expiresAt);
    expect(String(during.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(String(during.headers["hookgate-signature"]).match(/v1=/g)).toHaveLength(2);
    expect(verifiedBy(during, both)).toEqual({ standard: ["old", "new"], stripeStyle: ["old", "new"] });

    // Past the grace (the database's clock decides; allow it a moment).
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 500));
    const after = await deliverOne(2);
    expect(String(after.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(String(after.headers["hookgate-signature"]).match(/v1=/g)).toHaveLength(1);
    expect(verifiedBy(after, both)).toEqual({ standard: ["new"], stripeStyle: ["new"] });

    // The expired row is still stored (pruned at the next rotation): only the claim's filter left it out.
    const stored = await h.hookgate.app.prisma.endpointSecret.count({ where: { endpointId: ep.id } });
    expect(stored).toBe(2);
  });
});
