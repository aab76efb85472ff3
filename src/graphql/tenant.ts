import { createTenant, visibleTenants } from "../domain/tenants.js";
import { ApiKeyScopeEnum } from "./api-key.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { MUTATION_ERRORS } from "./errors.js";
import { OFFSET_ARGS, pagination, withOffset } from "./pagination.js";

export const TenantRef = builder.prismaObject("Tenant", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    parentId: t.exposeID("parentId", { nullable: true }),
    children: t.relation("children", {
      description: "Direct sub-accounts (first 100).",
      query: { take: 100, orderBy: { id: "asc" } },
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const Viewer = builder.simpleObject("Viewer", {
  description: "The caller, identified by its API key.",
  fields: (t) => ({
    id: t.id({ description: "Same as keyId: the viewer is its API key (lets caches normalise Viewer)." }),
    keyId: t.id(),
    tenantId: t.id(),
    scopes: t.field({ type: [ApiKeyScopeEnum] }),
  }),
});

builder.objectField(Viewer, "tenant", (t) =>
  t.prismaField({
    type: "Tenant",
    resolve: (query, viewer, _args, ctx) =>
      ctx.app.prisma.tenant.findUniqueOrThrow({ ...query, where: { id: viewer.tenantId } }),
  }),
);

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    description: "The caller: its API key, tenant and scopes.",
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => {
      const actor = requireActor(ctx);
      return { id: actor.keyId, keyId: actor.keyId, tenantId: actor.tenantId, scopes: actor.scopes };
    },
  }),
  tenant: t.prismaField({
    type: "Tenant",
    nullable: true,
    description: "The caller's tenant or one of its descendants.",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.app.prisma.tenant.findFirst({
        ...query,
        where: { id: args.id, ...visibleTenants(requireActor(ctx)) },
      }),
  }),
}));

builder.queryFields((t) => ({
  tenants: t.prismaConnection(
    {
      type: "Tenant",
      cursor: "id",
      ...pagination(),
      description: "The caller's tenant and every tenant below it, oldest first.",
      authScopes: { authenticated: true },
      args: { ...OFFSET_ARGS },
      totalCount: (_parent, _args, ctx) =>
        ctx.app.prisma.tenant.count({ where: visibleTenants(requireActor(ctx)) }),
      resolve: (query, _root, args, ctx) =>
        ctx.app.prisma.tenant.findMany({
          ...withOffset(query, args),
          where: visibleTenants(requireActor(ctx)),
          orderBy: { id: "asc" },
        }),
    },
    { name: "TenantConnection" },
    { name: "TenantEdge" },
  ),
}));

const CreateTenantInput = builder.inputType("CreateTenantInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    parentId: t.id({ description: "Parent tenant (default: the caller's tenant)." }),
  }),
});

const CreateTenantPayload = builder.simpleObject("CreateTenantPayload", {
  fields: (t) => ({ tenant: t.field({ type: TenantRef }) }),
});

builder.mutationFields((t) => ({
  createTenant: t.field({
    type: CreateTenantPayload,
    description: "Creates a sub-account under the caller's tenant (or under parentId).",
    authScopes: { scope: "ADMIN" },
    errors: MUTATION_ERRORS,
    args: { input: t.arg({ type: CreateTenantInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      tenant: await createTenant(ctx.app, requireActor(ctx), {
        name: input.name,
        parentId: input.parentId ?? null,
      }),
    }),
  }),
}));
