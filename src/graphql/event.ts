import { builder } from "./builder.js";

/** A published event. Its deliveries (one per matching endpoint) hang off `deliveries`. */
export const EventRef = builder.prismaObject("Event", {
  fields: (t) => ({
    id: t.exposeID("id"),
    tenantId: t.exposeID("tenantId"),
    type: t.exposeString("type"),
    payload: t.expose("payload", { type: "JSON" }),
    idempotencyKey: t.exposeString("idempotencyKey", { nullable: true }),
    test: t.exposeBoolean("test", { description: "Synthetic event sent by testEndpoint." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
