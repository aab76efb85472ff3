import { recoverEndpoint, replayDelivery, testEndpoint } from "../domain/deliveries.js";
import { PUBLISH_BATCH_MAX, publishEvent, publishEvents } from "../domain/events.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { DeliveryRef } from "./delivery.js";
import { ENDPOINT_REF_ARGS, endpointRef } from "./endpoint.js";
import { MUTATION_ERRORS } from "./errors.js";
import { EventRef } from "./event.js";

const PublishEventInput = builder.inputType("PublishEventInput", {
  fields: (t) => ({
    type: t.string({ required: true, description: "A visible, non-deprecated event type name." }),
    payload: t.field({
      type: "JSON",
      required: true,
      description:
        "Validated against the event type's JSON Schema, if it has one; HOOKGATE_MAX_PAYLOAD_BYTES at most.",
    }),
    idempotencyKey: t.string({
      description:
        "At most 255 characters. The same key within a tenant with the same type and payload returns the original event; with another type or payload it is a ConflictError naming the original.",
    }),
    tenantId: t.id({ description: "Tenant the event belongs to (default: the caller's)." }),
  }),
});

const PublishEventPayload = builder.simpleObject("PublishEventPayload", {
  fields: (t) => ({
    event: t.field({ type: EventRef }),
    deliveryCount: t.int({
      description: "Deliveries created (for a repeated idempotency key: the original's).",
    }),
  }),
});

const PublishEventsInput = builder.inputType("PublishEventsInput", {
  fields: (t) => ({
    events: t.field({
      type: [PublishEventInput],
      required: true,
      description: `1 to ${PUBLISH_BATCH_MAX} events, published together or not at all.`,
    }),
  }),
});

const PublishEventsItem = builder.simpleObject("PublishEventsItem", {
  description: "What became of one input event (all of them were accepted: the batch is all or nothing).",
  fields: (t) => ({
    index: t.int({ description: "Position in input.events." }),
    event: t.field({ type: EventRef }),
    deliveryCount: t.int({
      description: "Deliveries created (for a repeated idempotency key: the original's).",
    }),
    duplicate: t.boolean({
      description:
        "The idempotency key named an event published before (or earlier in this batch): that event, nothing new.",
    }),
  }),
});

const PublishEventsPayload = builder.simpleObject("PublishEventsPayload", {
  description:
    "Every input event was accepted, in one transaction; `results` has one item per input, in order.",
  fields: (t) => ({
    results: t.field({ type: [PublishEventsItem] }),
  }),
});

const TestEndpointPayload = builder.simpleObject("TestEndpointPayload", {
  fields: (t) => ({ delivery: t.field({ type: DeliveryRef }) }),
});

const ReplayDeliveryPayload = builder.simpleObject("ReplayDeliveryPayload", {
  fields: (t) => ({ delivery: t.field({ type: DeliveryRef }) }),
});

const RecoverEndpointPayload = builder.simpleObject("RecoverEndpointPayload", {
  fields: (t) => ({ count: t.int({ description: "Deliveries re-queued." }) }),
});

builder.mutationFields((t) => ({
  publishEvent: t.field({
    type: PublishEventPayload,
    description: "Publishes an event: one delivery per matching endpoint, written in one transaction.",
    authScopes: { scope: "EVENTS_PUBLISH" },
    errors: MUTATION_ERRORS,
    args: { input: t.arg({ type: PublishEventInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      publishEvent(ctx.app, requireActor(ctx), {
        type: input.type,
        payload: input.payload,
        idempotencyKey: input.idempotencyKey ?? null,
        tenantId: input.tenantId ?? null,
      }),
  }),
  publishEvents: t.field({
    type: PublishEventsPayload,
    description:
      "Publishes up to 100 events in one transaction: every one is accepted (PublishEventsPayload) or none is (a ValidationError whose paths name each refused event, input.events.<i>..., or a ConflictError).",
    authScopes: { scope: "EVENTS_PUBLISH" },
    errors: MUTATION_ERRORS,
    args: { input: t.arg({ type: PublishEventsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const items = await publishEvents(
        ctx.app,
        requireActor(ctx),
        input.events.map((e) => ({
          type: e.type,
          payload: e.payload,
          idempotencyKey: e.idempotencyKey ?? null,
          tenantId: e.tenantId ?? null,
        })),
      );
      return {
        results: items.map((item, index) => ({
          index,
          event: item.event,
          deliveryCount: item.deliveryCount,
          duplicate: item.duplicate,
        })),
      };
    },
  }),
  testEndpoint: t.field({
    type: TestEndpointPayload,
    description:
      "Sends a synthetic test event (Event.test = true) of this type to this endpoint only, now, whatever its filter.",
    authScopes: { scope: "ENDPOINTS_WRITE" },
    errors: MUTATION_ERRORS,
    args: { ...ENDPOINT_REF_ARGS, eventType: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => ({
      delivery: await testEndpoint(ctx.app, requireActor(ctx), endpointRef(args), args.eventType),
    }),
  }),
  replayDelivery: t.field({
    type: ReplayDeliveryPayload,
    description:
      "One more attempt now. `url` sends that attempt to another url (validated like endpoint urls). ConflictError while the delivery is being sent.",
    authScopes: { scope: "DELIVERIES_WRITE" },
    errors: MUTATION_ERRORS,
    args: { id: t.arg.id({ required: true }), url: t.arg.string() },
    resolve: async (_root, args, ctx) => ({
      delivery: await replayDelivery(ctx.app, requireActor(ctx), args.id, args.url ?? null),
    }),
  }),
  recoverEndpoint: t.field({
    type: RecoverEndpointPayload,
    description:
      "Re-queues the endpoint's FAILED and CANCELLED deliveries created in [since, until) (until: default now; at most 30 days). The endpoint must be enabled.",
    authScopes: { scope: "DELIVERIES_WRITE" },
    errors: MUTATION_ERRORS,
    args: {
      ...ENDPOINT_REF_ARGS,
      since: t.arg({ type: "DateTime", required: true }),
      until: t.arg({ type: "DateTime" }),
    },
    resolve: async (_root, args, ctx) => ({
      count: await recoverEndpoint(
        ctx.app,
        requireActor(ctx),
        endpointRef(args),
        args.since,
        args.until ?? null,
      ),
    }),
  }),
}));
