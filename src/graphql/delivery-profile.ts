import {
  type DeliveryProfile,
  loadDeliveryProfile,
  PROFILE_NAME_MAX,
  updateDeliveryProfile,
} from "../domain/delivery-profile.js";
import { HOOKGATE_VERSION } from "../version.js";
import { builder } from "./builder.js";
import { requireActor } from "./context.js";
import { MUTATION_ERRORS } from "./errors.js";
import { TenantRef } from "./tenant.js";

const DeliveryProfileRef = builder.objectRef<DeliveryProfile>("DeliveryProfile").implement({
  description:
    "How a tenant's deliveries look on the wire (effective values: the tenant's own settings, else its " +
    "nearest ancestor's, else the defaults).",
  fields: (t) => ({
    signatureHeader: t.exposeString("signatureHeader", {
      description: "The header carrying `t=<timestamp>,v1=<hex>` (default hookgate-signature).",
    }),
    userAgentProduct: t.exposeString("userAgentProduct", {
      description: "The product name in User-Agent (default Hookgate).",
    }),
    userAgent: t.string({
      description: "The User-Agent sent: `<userAgentProduct>/<Hookgate version>`.",
      resolve: (p) => `${p.userAgentProduct}/${HOOKGATE_VERSION}`,
    }),
    standardWebhooksHeaders: t.exposeBoolean("standardWebhooksHeaders", {
      description: "Whether webhook-id, webhook-timestamp and webhook-signature are sent (default true).",
    }),
  }),
});

builder.objectField(TenantRef, "deliveryProfile", (t) =>
  t.field({
    type: DeliveryProfileRef,
    description: "The effective delivery profile of this tenant (inherited where it sets nothing).",
    resolve: (tenant, _args, ctx) => loadDeliveryProfile(ctx.app, tenant.path),
  }),
);

const DeliveryProfileInput = builder.inputType("DeliveryProfileInput", {
  description: "Each field: omitted leaves it as it is, null clears it (inherit again), a value sets it.",
  fields: (t) => ({
    signatureHeader: t.string({
      description: `Header name for the t=,v1= signature: token characters, 1 to ${PROFILE_NAME_MAX}, not a reserved or hop-by-hop header.`,
    }),
    userAgentProduct: t.string({
      description: `User-Agent product name (token characters, 1 to ${PROFILE_NAME_MAX}); the version is appended.`,
    }),
    standardWebhooksHeaders: t.boolean({
      description: "Send webhook-id, webhook-timestamp and webhook-signature.",
    }),
  }),
});

const UpdateTenantDeliveryProfilePayload = builder
  .objectRef<{ tenant: { id: string }; profile: DeliveryProfile }>("UpdateTenantDeliveryProfilePayload")
  .implement({
    fields: (t) => ({
      tenant: t.prismaField({
        type: "Tenant",
        resolve: (query, p, _args, ctx) =>
          ctx.app.prisma.tenant.findUniqueOrThrow({ ...query, where: { id: p.tenant.id } }),
      }),
      deliveryProfile: t.field({ type: DeliveryProfileRef, resolve: (p) => p.profile }),
    }),
  });

builder.mutationFields((t) => ({
  updateTenantDeliveryProfile: t.field({
    type: UpdateTenantDeliveryProfilePayload,
    description:
      "Sets or clears a tenant's delivery profile (inherited by its sub-tenants); applies from the next delivery.",
    authScopes: { scope: "ADMIN" },
    errors: MUTATION_ERRORS,
    args: {
      tenantId: t.arg.id({ description: "The tenant (default: the caller's); it or a descendant." }),
      input: t.arg({ type: DeliveryProfileInput, required: true }),
    },
    resolve: (_root, { tenantId, input }, ctx) =>
      updateDeliveryProfile(ctx.app, requireActor(ctx), tenantId, {
        signatureHeader: input.signatureHeader,
        userAgentProduct: input.userAgentProduct,
        standardWebhooksHeaders: input.standardWebhooksHeaders,
      }),
  }),
}));
