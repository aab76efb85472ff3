import { apiKeyListWhere, createApiKey, revokeApiKey } from "../domain/api-keys.js";
import { ApiKeyScope } from "../generated/prisma/enums.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { MUTATION_ERRORS } from "./errors.js";
import { OFFSET_ARGS, pagination, withOffset } from "./pagination.js";

export const ApiKeyScopeEnum = builder.enumType(ApiKeyScope, {
  name: "ApiKeyScope",
  description: "ADMIN implies every other scope.",
});

export const ApiKeyRef = builder.prismaObject("ApiKey", {
  description: "An API key's metadata. The key itself is shown once, by createApiKey.",
  fields: (t) => ({
    id: t.exposeID("id"),
    tenantId: t.exposeID("tenantId"),
    name: t.exposeString("name"),
    prefix: t.exposeString("prefix", { description: "First characters of the key, to recognise it." }),
    scopes: t.expose("scopes", { type: [ApiKeyScopeEnum] }),
    lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const ApiKeyFilter = builder.inputType("ApiKeyFilter", {
  fields: (t) => ({
    tenantId: t.id({ description: "Only this tenant's keys (default: every tenant the caller reaches)." }),
    revoked: t.boolean({ description: "true: only revoked keys; false: only keys not revoked." }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection(
    {
      type: "ApiKey",
      cursor: "id",
      ...pagination(),
      description:
        "API keys of the caller's tenant and its descendants, oldest first: metadata only, never the key.",
      authScopes: { scope: "ADMIN" },
      args: { filter: t.arg({ type: ApiKeyFilter }), ...OFFSET_ARGS },
      totalCount: (_parent, args, ctx) =>
        ctx.app.prisma.apiKey.count({ where: apiKeyListWhere(requireActor(ctx), args.filter ?? {}) }),
      resolve: (query, _root, args, ctx) =>
        ctx.app.prisma.apiKey.findMany({
          ...withOffset(query, args),
          where: apiKeyListWhere(requireActor(ctx), args.filter ?? {}),
          orderBy: { id: "asc" },
        }),
    },
    { name: "ApiKeyConnection" },
    { name: "ApiKeyEdge" },
  ),
}));

const CreateApiKeyInput = builder.inputType("CreateApiKeyInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [ApiKeyScopeEnum], required: true }),
    tenantId: t.id({ description: "Tenant the key belongs to (default: the caller's)." }),
    expiresAt: t.field({ type: "DateTime" }),
  }),
});

const CreateApiKeyPayload = builder.simpleObject("CreateApiKeyPayload", {
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef }),
    key: t.string({ description: "The key. Shown only here, once: store it now." }),
  }),
});

const RevokeApiKeyPayload = builder.simpleObject("RevokeApiKeyPayload", {
  fields: (t) => ({ apiKey: t.field({ type: ApiKeyRef }) }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    authScopes: { scope: "ADMIN" },
    errors: MUTATION_ERRORS,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createApiKey(ctx.app, requireActor(ctx), {
        name: input.name,
        scopes: input.scopes,
        tenantId: input.tenantId ?? null,
        expiresAt: input.expiresAt ?? null,
      }),
  }),
  revokeApiKey: t.field({
    type: RevokeApiKeyPayload,
    authScopes: { scope: "ADMIN" },
    errors: MUTATION_ERRORS,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ({
      apiKey: await revokeApiKey(ctx.app, requireActor(ctx), args.id),
    }),
  }),
}));
