import { attemptWhere, deliveryWhere, eventWhere, visibleDeliveries } from "../domain/delivery-queries.js";
import { hasPrefix } from "../domain/ids.js";
import { visibleTenants } from "../domain/tenants.js";
import { AttemptRef, AttemptStatusEnum } from "./attempt.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { DeliveryRef, DeliveryStatusEnum } from "./delivery.js";
import { EventRef } from "./event.js";
import { LARGE_PAGE_SIZE, OFFSET_ARGS, offsetSkip, pagination, withOffset } from "./pagination.js";

/*
 * The read side of events, deliveries and attempts: root queries, the filters they share
 * with the deliveryUpdated subscription, and the connections hanging off Event and Delivery.
 * Everything is newest first (ids are time-ordered ULIDs, so `id desc` is creation order and
 * a stable cursor) and confined to the caller's tenant subtree.
 */

type MaybeCount = number | (() => number | Promise<number>);

/** Pothos hands shared connection objects their count as a value or a thunk. */
function countOf(connection: object): number | Promise<number> {
  const { totalCount } = connection as { totalCount?: MaybeCount };
  return typeof totalCount === "function" ? totalCount() : (totalCount ?? 0);
}

export const EventConnection = builder.connectionObject(
  {
    type: EventRef,
    name: "EventConnection",
    fields: (t) => ({
      totalCount: t.int({
        description: "Number of events matching the filter, ignoring pagination.",
        resolve: countOf,
      }),
    }),
  },
  { name: "EventEdge" },
);

export const DeliveryConnection = builder.connectionObject(
  {
    type: DeliveryRef,
    name: "DeliveryConnection",
    fields: (t) => ({
      totalCount: t.int({
        description: "Number of deliveries matching the filter, ignoring pagination.",
        resolve: countOf,
      }),
    }),
  },
  { name: "DeliveryEdge" },
);

export const AttemptConnection = builder.connectionObject(
  {
    type: AttemptRef,
    name: "AttemptConnection",
    fields: (t) => ({
      totalCount: t.int({
        description: "Number of attempts matching the filter, ignoring pagination.",
        resolve: countOf,
      }),
    }),
  },
  { name: "AttemptEdge" },
);

export const EventFilterInput = builder.inputType("EventFilter", {
  fields: (t) => ({
    type: t.string({ description: "Exact event type name." }),
    since: t.field({ type: "DateTime", description: "Created at or after (inclusive)." }),
    until: t.field({ type: "DateTime", description: "Created before (exclusive)." }),
    test: t.boolean({ description: "Only test events (true) or only real ones (false)." }),
    tenantId: t.id({
      description: "Only this tenant's (default: the caller's tenant and all its descendants).",
    }),
    idempotencyKey: t.string(),
  }),
});

export const DeliveryFilterInput = builder.inputType("DeliveryFilter", {
  description:
    "Shared by deliveries and deliveryUpdated. since/until apply to queries only (deliveryUpdated refuses them).",
  fields: (t) => ({
    endpointId: t.id(),
    endpointUid: t.string({
      description: "The endpoint with this uid in tenantId (default: the caller's tenant).",
    }),
    eventId: t.id(),
    eventType: t.string({ description: "Exact event type name." }),
    status: t.field({
      type: [DeliveryStatusEnum],
      description:
        "Any of these statuses. A single value is accepted too (GraphQL coerces it to a one-item list).",
    }),
    since: t.field({ type: "DateTime", description: "Created at or after (inclusive)." }),
    until: t.field({ type: "DateTime", description: "Created before (exclusive)." }),
    tenantId: t.id({
      description: "Only this tenant's (default: the caller's tenant and all its descendants).",
    }),
  }),
});

export const AttemptFilterInput = builder.inputType("AttemptFilter", {
  fields: (t) => ({
    deliveryId: t.id(),
    endpointId: t.id(),
    endpointUid: t.string({
      description: "The endpoint with this uid in tenantId (default: the caller's tenant).",
    }),
    eventType: t.string({ description: "Exact event type name of the attempted event." }),
    tenantId: t.id({
      description: "Only this tenant's (default: the caller's tenant and all its descendants).",
    }),
    status: t.field({ type: [AttemptStatusEnum], description: "Any of these statuses." }),
    since: t.field({ type: "DateTime", description: "Made at or after (inclusive)." }),
    until: t.field({ type: "DateTime", description: "Made before (exclusive)." }),
  }),
});

builder.queryFields((t) => ({
  event: t.prismaField({
    type: "Event",
    nullable: true,
    description: "An event of the caller's tenant subtree; null for any other id.",
    // Publishers may look up what they published; its deliveries still need DELIVERIES_READ.
    authScopes: { $any: { scope: "DELIVERIES_READ", $any: { scope: "EVENTS_PUBLISH" } } },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const eventId = args.id;
      if (!hasPrefix(eventId, "event")) return null;
      return ctx.app.prisma.event.findFirst({
        ...query,
        where: { id: eventId, tenant: visibleTenants(requireActor(ctx)) },
      });
    },
  }),
  events: t.prismaConnection(
    {
      type: "Event",
      cursor: "id",
      ...pagination(LARGE_PAGE_SIZE),
      description: "Events of the caller's tenant subtree, newest first.",
      authScopes: { $any: { scope: "DELIVERIES_READ", $any: { scope: "EVENTS_PUBLISH" } } },
      args: { ...OFFSET_ARGS, filter: t.arg({ type: EventFilterInput }) },
      totalCount: async (_parent, args, ctx) =>
        ctx.app.prisma.event.count({ where: await eventFilterWhere(args.filter, ctx) }),
      resolve: async (query, _root, args, ctx) =>
        ctx.app.prisma.event.findMany({
          ...withOffset(query, args),
          where: await eventFilterWhere(args.filter, ctx),
          orderBy: { id: "desc" },
        }),
    },
    EventConnection,
  ),
  delivery: t.prismaField({
    type: "Delivery",
    nullable: true,
    description: "A delivery of the caller's tenant subtree; null for any other id.",
    authScopes: { scope: "DELIVERIES_READ" },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const deliveryId = args.id;
      if (!hasPrefix(deliveryId, "delivery")) return null;
      return ctx.app.prisma.delivery.findFirst({
        ...query,
        where: { id: deliveryId, ...visibleDeliveries(requireActor(ctx)) },
      });
    },
  }),
  deliveries: t.prismaConnection(
    {
      type: "Delivery",
      cursor: "id",
      ...pagination(LARGE_PAGE_SIZE),
      description: "Deliveries to endpoints of the caller's tenant subtree, newest first.",
      authScopes: { scope: "DELIVERIES_READ" },
      args: { ...OFFSET_ARGS, filter: t.arg({ type: DeliveryFilterInput }) },
      totalCount: async (_parent, args, ctx) =>
        ctx.app.prisma.delivery.count({ where: await deliveryFilterWhere(args.filter, ctx) }),
      resolve: async (query, _root, args, ctx) =>
        ctx.app.prisma.delivery.findMany({
          ...withOffset(query, args),
          where: await deliveryFilterWhere(args.filter, ctx),
          orderBy: { id: "desc" },
        }),
    },
    DeliveryConnection,
  ),
  attempts: t.prismaConnection(
    {
      type: "Attempt",
      cursor: "id",
      ...pagination(LARGE_PAGE_SIZE),
      description: "HTTP attempts of deliveries in the caller's tenant subtree, newest first.",
      authScopes: { scope: "DELIVERIES_READ" },
      args: { ...OFFSET_ARGS, filter: t.arg({ type: AttemptFilterInput }) },
      totalCount: async (_parent, args, ctx) =>
        ctx.app.prisma.attempt.count({ where: await attemptFilterWhere(args.filter, ctx) }),
      resolve: async (query, _root, args, ctx) =>
        ctx.app.prisma.attempt.findMany({
          ...withOffset(query, args),
          where: await attemptFilterWhere(args.filter, ctx),
          orderBy: { id: "desc" },
        }),
    },
    AttemptConnection,
  ),
}));

type Ctx = Parameters<typeof requireActor>[0];
type EventFilterArg = typeof EventFilterInput.$inferInput | null | undefined;
type DeliveryFilterArg = typeof DeliveryFilterInput.$inferInput | null | undefined;
type AttemptFilterArg = typeof AttemptFilterInput.$inferInput | null | undefined;

function eventFilterWhere(filter: EventFilterArg, ctx: Ctx) {
  return eventWhere(ctx.app, requireActor(ctx), {
    type: filter?.type,
    since: filter?.since,
    until: filter?.until,
    test: filter?.test,
    tenantId: filter?.tenantId ?? null,
    idempotencyKey: filter?.idempotencyKey,
  });
}

export function deliveryFilterOf(filter: DeliveryFilterArg) {
  return {
    endpointId: filter?.endpointId ?? null,
    endpointUid: filter?.endpointUid ?? null,
    eventId: filter?.eventId ?? null,
    eventType: filter?.eventType,
    status: filter?.status,
    since: filter?.since,
    until: filter?.until,
    tenantId: filter?.tenantId ?? null,
  };
}

function deliveryFilterWhere(filter: DeliveryFilterArg, ctx: Ctx) {
  return deliveryWhere(ctx.app, requireActor(ctx), deliveryFilterOf(filter));
}

function attemptFilterWhere(filter: AttemptFilterArg, ctx: Ctx) {
  return attemptWhere(ctx.app, requireActor(ctx), {
    deliveryId: filter?.deliveryId ?? null,
    endpointId: filter?.endpointId ?? null,
    endpointUid: filter?.endpointUid ?? null,
    eventType: filter?.eventType,
    tenantId: filter?.tenantId ?? null,
    status: filter?.status,
    since: filter?.since,
    until: filter?.until,
  });
}

builder.prismaObjectField("Event", "deliveries", (t) =>
  t.relatedConnection(
    "deliveries",
    {
      cursor: "id",
      ...pagination(LARGE_PAGE_SIZE),
      description: "Its deliveries to endpoints the caller can see, newest first.",
      authScopes: { scope: "DELIVERIES_READ" },
      totalCount: true,
      args: {
        ...OFFSET_ARGS,
        status: t.arg({ type: [DeliveryStatusEnum], description: "Any of these statuses." }),
      },
      // An event reaches endpoints of ancestor tenants (includeChildTenants): those deliveries
      // belong to tenants the caller may not see.
      query: (args, ctx) => ({
        where: {
          ...visibleDeliveries(requireActor(ctx)),
          ...(args.status?.length ? { status: { in: args.status } } : {}),
        },
        orderBy: { id: "desc" },
        skip: offsetSkip(args),
      }),
    },
    DeliveryConnection,
  ),
);

builder.prismaObjectField("Delivery", "attempts", (t) =>
  t.relatedConnection(
    "attempts",
    {
      cursor: "id",
      ...pagination(LARGE_PAGE_SIZE),
      description: "Its HTTP attempts, newest first.",
      authScopes: { scope: "DELIVERIES_READ" },
      totalCount: true,
      args: OFFSET_ARGS,
      query: (args) => ({ orderBy: { id: "desc" }, skip: offsetSkip(args) }),
    },
    AttemptConnection,
  ),
);

builder.prismaObjectField("Delivery", "endpoint", (t) =>
  t.relation("endpoint", {
    description: "The endpoint it is for (deleted ones too: history stays readable).",
    // Deliveries are readable with DELIVERIES_READ; the endpoint's own details need its scope.
    authScopes: { scope: "ENDPOINTS_READ" },
  }),
);

builder.prismaObjectField("Endpoint", "deliveries", (t) =>
  t.relatedConnection(
    "deliveries",
    {
      cursor: "id",
      ...pagination(LARGE_PAGE_SIZE),
      description: "Its deliveries, newest first.",
      authScopes: { scope: "DELIVERIES_READ" },
      totalCount: true,
      args: {
        ...OFFSET_ARGS,
        status: t.arg({ type: [DeliveryStatusEnum], description: "Any of these statuses." }),
      },
      // A delivery's tenant is its endpoint's, so a visible endpoint's deliveries are all visible.
      query: (args) => ({
        ...(args.status?.length ? { where: { status: { in: args.status } } } : {}),
        orderBy: { id: "desc" },
        skip: offsetSkip(args),
      }),
    },
    DeliveryConnection,
  ),
);
