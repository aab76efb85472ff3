import type { Actor, App } from "../domain/app.js";
import { createEventType, updateEventType, usableEventTypes } from "../domain/event-types.js";
import { visibleTenants } from "../domain/tenants.js";
import type { Prisma } from "../generated/prisma/client.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { MUTATION_ERRORS } from "./errors.js";
import { OFFSET_ARGS, pagination, withOffset } from "./pagination.js";

export const EventTypeRef = builder.prismaObject("EventType", {
  description: "A kind of event (`invoice.paid`). Defined by a tenant; usable by it and its descendants.",
  fields: (t) => ({
    id: t.exposeID("id"),
    tenantId: t.exposeID("tenantId", { description: "The tenant that defines it." }),
    name: t.exposeString("name"),
    description: t.exposeString("description"),
    schema: t.expose("schema", {
      type: "JSON",
      nullable: true,
      description:
        "JSON Schema that published payloads must satisfy (draft 2020-12 unless $schema says otherwise).",
    }),
    deprecated: t.exposeBoolean("deprecated", {
      description: "Deprecated types keep delivering but cannot be added to endpoints.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

interface ListArgs {
  includeDeprecated?: boolean | null;
  tenantId?: string | null;
}

/** Types usable by the chosen tenant (default: the caller's); an invisible tenantId yields nothing. */
async function listWhere(app: App, actor: Actor, args: ListArgs): Promise<Prisma.EventTypeWhereInput> {
  let path = actor.tenantPath;
  if (args.tenantId != null) {
    const tenant = await app.prisma.tenant.findFirst({
      where: { id: args.tenantId, ...visibleTenants(actor) },
      select: { path: true },
    });
    if (!tenant) return { id: { in: [] } };
    path = tenant.path;
  }
  return { ...usableEventTypes(path), ...(args.includeDeprecated ? {} : { deprecated: false }) };
}

builder.queryFields((t) => ({
  eventTypes: t.prismaConnection(
    {
      type: "EventType",
      cursor: "id",
      ...pagination(),
      description:
        "Event types the tenant can use: its own and its ancestors' (the platform's), oldest first.",
      authScopes: { authenticated: true },
      args: {
        ...OFFSET_ARGS,
        includeDeprecated: t.arg.boolean({ description: "Include deprecated types (default false)." }),
        tenantId: t.arg.id({ description: "As seen by this tenant (default: the caller's)." }),
      },
      totalCount: async (_parent, args, ctx) =>
        ctx.app.prisma.eventType.count({ where: await listWhere(ctx.app, requireActor(ctx), args) }),
      resolve: async (query, _root, args, ctx) =>
        ctx.app.prisma.eventType.findMany({
          ...withOffset(query, args),
          where: await listWhere(ctx.app, requireActor(ctx), args),
          orderBy: { id: "asc" },
        }),
    },
    { name: "EventTypeConnection" },
    { name: "EventTypeEdge" },
  ),
}));

const CreateEventTypeInput = builder.inputType("CreateEventTypeInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "e.g. invoice.paid: dot-separated, 1–100 characters." }),
    description: t.string(),
    schema: t.field({ type: "JSON", description: "JSON Schema for payloads (at most 64 KiB)." }),
    tenantId: t.id({ description: "Owning tenant (default: the caller's)." }),
  }),
});

const UpdateEventTypeInput = builder.inputType("UpdateEventTypeInput", {
  fields: (t) => ({
    description: t.string(),
    schema: t.field({ type: "JSON", description: "Replaces the schema; null removes it." }),
    deprecated: t.boolean(),
  }),
});

const CreateEventTypePayload = builder.simpleObject("CreateEventTypePayload", {
  fields: (t) => ({ eventType: t.field({ type: EventTypeRef }) }),
});

const UpdateEventTypePayload = builder.simpleObject("UpdateEventTypePayload", {
  fields: (t) => ({ eventType: t.field({ type: EventTypeRef }) }),
});

builder.mutationFields((t) => ({
  createEventType: t.field({
    type: CreateEventTypePayload,
    authScopes: { scope: "ADMIN" },
    errors: MUTATION_ERRORS,
    args: { input: t.arg({ type: CreateEventTypeInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      eventType: await createEventType(ctx.app, requireActor(ctx), {
        name: input.name,
        description: input.description,
        schema: input.schema,
        tenantId: input.tenantId ?? null,
      }),
    }),
  }),
  updateEventType: t.field({
    type: UpdateEventTypePayload,
    authScopes: { scope: "ADMIN" },
    errors: MUTATION_ERRORS,
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateEventTypeInput, required: true }),
    },
    resolve: async (_root, args, ctx) => ({
      eventType: await updateEventType(ctx.app, requireActor(ctx), args.id, {
        description: args.input.description,
        schema: args.input.schema,
        deprecated: args.input.deprecated,
      }),
    }),
  }),
}));
