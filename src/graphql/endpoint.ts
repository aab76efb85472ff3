import { GraphQLError } from "graphql";
import { findEndpointByRef } from "../domain/endpoint-refs.js";
import {
  createEndpoint,
  deleteEndpoint,
  endpointListWhere,
  type HeaderInput,
  redactedEndpointHeaders,
  rotateEndpointSecret,
  updateEndpoint,
  upsertEndpoint,
  validSecretWhere,
} from "../domain/endpoints.js";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import { EndpointStatus } from "../generated/prisma/enums.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { MUTATION_ERRORS } from "./errors.js";
import { OFFSET_ARGS, pagination, withOffset } from "./pagination.js";

export const EndpointStatusEnum = builder.enumType(EndpointStatus, { name: "EndpointStatus" });

const EndpointHeader = builder.simpleObject("EndpointHeader", {
  fields: (t) => ({
    name: t.string(),
    value: t.string({
      description: 'Values of sensitive headers (Authorization, *token*, ...) read "[REDACTED]".',
    }),
  }),
});

builder.prismaObject("EndpointSecret", {
  name: "EndpointSecretInfo",
  description: "A signing secret's metadata. The secret itself is only ever shown when it is created.",
  fields: (t) => ({
    id: t.exposeID("id"),
    fingerprint: t.exposeString("fingerprint", {
      description: "A short recognisable form, e.g. whsec_ab12…",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", {
      type: "DateTime",
      nullable: true,
      description: "End of the grace period after a rotation; null for the current secret.",
    }),
  }),
});

export const EndpointRef = builder.prismaObject("Endpoint", {
  description: "Where a tenant wants events delivered.",
  fields: (t) => ({
    id: t.exposeID("id"),
    uid: t.exposeString("uid", {
      nullable: true,
      description: "Tenant-unique key for upsertEndpoint (released when the endpoint is deleted).",
    }),
    tenantId: t.exposeID("tenantId"),
    url: t.exposeString("url"),
    description: t.exposeString("description"),
    events: t.exposeStringList("events", {
      description: 'Event type filters: names, "*" (everything) or "prefix.*" (everything below prefix).',
    }),
    status: t.expose("status", { type: EndpointStatusEnum }),
    disabledReason: t.exposeString("disabledReason", {
      nullable: true,
      description: "MANUAL, FAILING (failed continuously too long) or GONE (the receiver answered 410).",
    }),
    headers: t.field({
      type: [EndpointHeader],
      select: { headers: true },
      resolve: (endpoint) => redactedEndpointHeaders(endpoint.headers),
    }),
    includeChildTenants: t.exposeBoolean("includeChildTenants", {
      description: "Also receive the events of the tenant's descendants.",
    }),
    rateLimitPerSecond: t.exposeInt("rateLimitPerSecond", { nullable: true }),
    secrets: t.relation("secrets", {
      description:
        "Signing secrets valid now (newest first): the current one, and older ones in their grace period.",
      // A function, so that "now" is the time of each request.
      query: () => ({ where: validSecretWhere(), orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    deletedAt: t.expose("deletedAt", { type: "DateTime", nullable: true }),
  }),
});

const EndpointFilter = builder.inputType("EndpointFilter", {
  fields: (t) => ({
    status: t.field({ type: EndpointStatusEnum }),
    eventType: t.string({
      description: "Endpoints that would receive this event type (exact, * or prefix.* match).",
    }),
    tenantId: t.id({ description: "Only this tenant's endpoints (one of the caller's visible tenants)." }),
    includeDeleted: t.boolean({ description: "Include soft-deleted endpoints (default false)." }),
    uid: t.string(),
  }),
});

/**
 * How operations name an endpoint: `id`, or `uid` (+ `tenantId`). `id` was required before uids
 * were accepted; it is optional now, which existing documents (`$id: ID!`) still satisfy.
 */
export const ENDPOINT_REF_ARGS = builder.args((t) => ({
  id: t.id({ description: "The endpoint's id; or give uid instead (exactly one of the two)." }),
  uid: t.string({ description: "The endpoint's uid in tenantId; or give id instead." }),
  tenantId: t.id({ description: "With uid: the tenant whose uid it is (default: the caller's)." }),
}));

/** The ref the domain takes, from ENDPOINT_REF_ARGS' values. */
export function endpointRef(args: { id?: string | null; uid?: string | null; tenantId?: string | null }) {
  return { id: args.id ?? null, uid: args.uid ?? null, tenantId: args.tenantId ?? null };
}

builder.queryFields((t) => ({
  endpoint: t.prismaField({
    type: "Endpoint",
    nullable: true,
    description:
      "An endpoint of the caller's tenant or a descendant by id (deleted ones included) or by uid (live ones); null otherwise.",
    authScopes: { scope: "ENDPOINTS_READ" },
    args: ENDPOINT_REF_ARGS,
    resolve: async (query, _root, args, ctx) => {
      let found: { id: string } | null;
      try {
        found = await findEndpointByRef(ctx.app, requireActor(ctx), endpointRef(args));
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        if (err instanceof ValidationError) {
          throw new GraphQLError(err.message, {
            extensions: { code: "BAD_USER_INPUT", argument: err.fieldErrors[0]?.path },
          });
        }
        throw err;
      }
      return found && ctx.app.prisma.endpoint.findUnique({ ...query, where: { id: found.id } });
    },
  }),
  endpoints: t.prismaConnection(
    {
      type: "Endpoint",
      cursor: "id",
      ...pagination(),
      description: "Endpoints of the caller's tenant and its descendants, oldest first.",
      authScopes: { scope: "ENDPOINTS_READ" },
      args: { ...OFFSET_ARGS, filter: t.arg({ type: EndpointFilter }) },
      totalCount: (_parent, args, ctx) =>
        ctx.app.prisma.endpoint.count({
          where: endpointListWhere(requireActor(ctx), args.filter ?? {}),
        }),
      resolve: (query, _root, args, ctx) =>
        ctx.app.prisma.endpoint.findMany({
          ...withOffset(query, args),
          where: endpointListWhere(requireActor(ctx), args.filter ?? {}),
          orderBy: { id: "asc" },
        }),
    },
    { name: "EndpointConnection" },
    { name: "EndpointEdge" },
  ),
}));

const EndpointHeaderInput = builder.inputType("EndpointHeaderInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    value: t.string({
      required: true,
      description: 'Sensitive values are encrypted at rest. On update, "[REDACTED]" keeps the stored value.',
    }),
  }),
});

const CreateEndpointInput = builder.inputType("CreateEndpointInput", {
  fields: (t) => ({
    url: t.string({ required: true, description: "https:// url, at most 2048 characters." }),
    events: t.stringList({ required: true, description: "1–100 filters: event type names, * or prefix.*" }),
    description: t.string({ description: "At most 1024 characters." }),
    secret: t.string({
      description: "Signing secret (16–256 characters, or whsec_<base64>); generated if omitted.",
    }),
    uid: t.string({ description: "Tenant-unique key: 1–128 of A-Z a-z 0-9 _ . : -" }),
    headers: t.field({ type: [EndpointHeaderInput], description: "At most 20 custom headers." }),
    includeChildTenants: t.boolean(),
    rateLimitPerSecond: t.int({ description: "1–10000 deliveries per second, or null for no limit." }),
    tenantId: t.id({ description: "Owning tenant (default: the caller's)." }),
  }),
});

const UpdateEndpointInput = builder.inputType("UpdateEndpointInput", {
  description: "Fields left out are unchanged. Rotate the secret with rotateEndpointSecret.",
  fields: (t) => ({
    url: t.string(),
    events: t.stringList(),
    description: t.string(),
    uid: t.string(),
    headers: t.field({ type: [EndpointHeaderInput], description: "Replaces the whole list." }),
    includeChildTenants: t.boolean(),
    rateLimitPerSecond: t.int({ description: "null removes the limit." }),
    tenantId: t.id({ description: "Move the endpoint to another of the caller's tenants." }),
    status: t.field({
      type: EndpointStatusEnum,
      description: "DISABLED stops deliveries (reason MANUAL); ENABLED resumes and resets the failure clock.",
    }),
  }),
});

const RotateEndpointSecretInput = builder.inputType("RotateEndpointSecretInput", {
  fields: (t) => ({
    secret: t.string({ description: "The new secret (generated if omitted)." }),
    gracePeriodSeconds: t.int({
      description:
        "How long the previous secret keeps signing: 0–604800 (default HOOKGATE_SECRET_GRACE, 24h).",
    }),
  }),
});

const CreateEndpointPayload = builder.simpleObject("CreateEndpointPayload", {
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef }),
    secret: t.string({ description: "The signing secret. Shown only here, once." }),
  }),
});

const UpsertEndpointPayload = builder.simpleObject("UpsertEndpointPayload", {
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef }),
    created: t.boolean(),
    secret: t.string({
      nullable: true,
      description: "The signing secret when the endpoint was created; else null.",
    }),
  }),
});

const UpdateEndpointPayload = builder.simpleObject("UpdateEndpointPayload", {
  fields: (t) => ({ endpoint: t.field({ type: EndpointRef }) }),
});

const DeleteEndpointPayload = builder.simpleObject("DeleteEndpointPayload", {
  fields: (t) => ({ endpoint: t.field({ type: EndpointRef }) }),
});

const RotateEndpointSecretPayload = builder.simpleObject("RotateEndpointSecretPayload", {
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef }),
    secret: t.string({ description: "The new signing secret. Shown only here, once." }),
  }),
});

type HeaderArg = { name: string; value: string }[] | null | undefined;

function headers(list: HeaderArg): HeaderInput[] | null {
  return list ? list.map((h) => ({ name: h.name, value: h.value })) : null;
}

interface CreateArgs {
  url: string;
  events: string[];
  description?: string | null;
  secret?: string | null;
  uid?: string | null;
  headers?: HeaderArg;
  includeChildTenants?: boolean | null;
  rateLimitPerSecond?: number | null;
  tenantId?: string | null;
}

function createInput(input: CreateArgs) {
  return { ...input, headers: headers(input.headers), tenantId: input.tenantId ?? null };
}

builder.mutationFields((t) => ({
  createEndpoint: t.field({
    type: CreateEndpointPayload,
    authScopes: { scope: "ENDPOINTS_WRITE" },
    errors: MUTATION_ERRORS,
    args: { input: t.arg({ type: CreateEndpointInput, required: true }) },
    resolve: (_root, { input }, ctx) => createEndpoint(ctx.app, requireActor(ctx), createInput(input)),
  }),
  upsertEndpoint: t.field({
    type: UpsertEndpointPayload,
    description:
      "Creates the endpoint with this uid, or replaces its definition (status and history are kept).",
    authScopes: { scope: "ENDPOINTS_WRITE" },
    errors: MUTATION_ERRORS,
    args: {
      uid: t.arg.string({ required: true }),
      input: t.arg({ type: CreateEndpointInput, required: true }),
    },
    resolve: (_root, args, ctx) =>
      upsertEndpoint(ctx.app, requireActor(ctx), args.uid, createInput(args.input)),
  }),
  updateEndpoint: t.field({
    type: UpdateEndpointPayload,
    authScopes: { scope: "ENDPOINTS_WRITE" },
    errors: MUTATION_ERRORS,
    args: {
      ...ENDPOINT_REF_ARGS,
      input: t.arg({ type: UpdateEndpointInput, required: true }),
    },
    resolve: async (_root, args, ctx) => ({
      endpoint: await updateEndpoint(ctx.app, requireActor(ctx), endpointRef(args), {
        ...args.input,
        headers: headers(args.input.headers),
        tenantId: args.input.tenantId ?? null,
      }),
    }),
  }),
  deleteEndpoint: t.field({
    type: DeleteEndpointPayload,
    description: "Soft delete: no new deliveries; the endpoint and its history stay readable by id.",
    authScopes: { scope: "ENDPOINTS_WRITE" },
    errors: MUTATION_ERRORS,
    args: ENDPOINT_REF_ARGS,
    resolve: async (_root, args, ctx) => ({
      endpoint: await deleteEndpoint(ctx.app, requireActor(ctx), endpointRef(args)),
    }),
  }),
  rotateEndpointSecret: t.field({
    type: RotateEndpointSecretPayload,
    description:
      "New signing secret; the previous ones keep signing beside it until their grace period ends.",
    authScopes: { scope: "ENDPOINTS_WRITE" },
    errors: MUTATION_ERRORS,
    args: {
      ...ENDPOINT_REF_ARGS,
      input: t.arg({ type: RotateEndpointSecretInput }),
    },
    resolve: (_root, args, ctx) =>
      rotateEndpointSecret(ctx.app, requireActor(ctx), endpointRef(args), {
        secret: args.input?.secret,
        gracePeriodSeconds: args.input?.gracePeriodSeconds,
      }),
  }),
}));
