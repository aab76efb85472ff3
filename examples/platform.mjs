// The platform's side, through the SDK (hookgate/client): create a tenant for a customer, register the
// customer's endpoint, publish an event to it, and follow its delivery live until it is final.
//
//   HOOKGATE_URL=http://127.0.0.1:4000 HOOKGATE_API_KEY=hk_... \
//   RECEIVER_URL=http://127.0.0.1:3000/webhooks WEBHOOK_SECRET=local-dev-secret-0123456789 \
//   node examples/platform.mjs
//
// (A loopback RECEIVER_URL needs the server started with HOOKGATE_ALLOW_INSECURE_URLS=1.) Prints one
// line per step; typed failures are results (checked by __typename), refusals are thrown.
import { createHookgateClient } from "hookgate/client";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
};
const hookgate = createHookgateClient({ url: env("HOOKGATE_URL"), apiKey: env("HOOKGATE_API_KEY") });

/** The payload of a typed result, or an Error naming what failed. */
function expectPayload(result, typename) {
  if (result.__typename === typename) return result;
  const details = result.fieldErrors?.map((f) => `${f.path}: ${f.message}`).join("; ");
  throw new Error(`${result.__typename}: ${details || result.message}`);
}

try {
  const eventType = await hookgate.CreateEventType({ input: { name: "invoice.paid" } });
  if (eventType.createEventType.__typename !== "ConflictError") {
    expectPayload(eventType.createEventType, "CreateEventTypePayload");
  }

  const { tenant } = expectPayload(
    (await hookgate.CreateTenant({ input: { name: "Acme" } })).createTenant,
    "CreateTenantPayload",
  );
  console.log(`tenant ${tenant.id}`);

  const { endpoint } = expectPayload(
    (
      await hookgate.CreateEndpoint({
        input: {
          tenantId: tenant.id,
          url: env("RECEIVER_URL"),
          events: ["invoice.*"],
          secret: env("WEBHOOK_SECRET"),
        },
      })
    ).createEndpoint,
    "CreateEndpointPayload",
  );
  console.log(`endpoint ${endpoint.id}`);

  // Subscribe before publishing, so that the updates are streamed as they happen.
  const updates = hookgate.deliveryUpdated({ endpointId: endpoint.id })[Symbol.asyncIterator]();
  let update = updates.next();

  const { event, deliveryCount } = expectPayload(
    (
      await hookgate.PublishEvent({
        input: { tenantId: tenant.id, type: "invoice.paid", payload: { invoiceId: "in_42", amount: 1200 } },
      })
    ).publishEvent,
    "PublishEventPayload",
  );
  console.log(`published ${event.id} to ${deliveryCount} endpoint(s)`);

  // graphql-ws does not say when the server has registered a subscription, so an update sent in that first
  // moment could be missed: once a second without news, read the delivery's status instead.
  const final = (status) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(status);
  for (;;) {
    const next = await Promise.race([update, new Promise((resolve) => setTimeout(resolve, 1000, null))]);
    if (next?.done) break;
    if (next) {
      const { delivery, attempt } = next.value;
      console.log(
        `delivery ${delivery.id} ${delivery.status}${attempt ? ` (HTTP ${attempt.responseCode})` : ""}`,
      );
      if (final(delivery.status)) break;
      update = updates.next();
      continue;
    }
    const { deliveries } = await hookgate.Deliveries({ filter: { eventId: event.id } });
    const delivery = deliveries.edges[0]?.node;
    if (delivery && final(delivery.status)) {
      console.log(`delivery ${delivery.id} ${delivery.status}`);
      break;
    }
  }
  // Closing the client (below) ends the stream; an update still awaited then no longer matters.
  update.catch(() => {});
} finally {
  await hookgate.close();
}
