import { AttemptTrigger, DeliveryStatus } from "../generated/prisma/enums.js";
import { builder } from "./builder.js";

export const DeliveryStatusEnum = builder.enumType(DeliveryStatus, { name: "DeliveryStatus" });
export const AttemptTriggerEnum = builder.enumType(AttemptTrigger, { name: "AttemptTrigger" });

/** One event to one endpoint, with its retry state. */
export const DeliveryRef = builder.prismaObject("Delivery", {
  fields: (t) => ({
    id: t.exposeID("id"),
    tenantId: t.exposeID("tenantId"),
    eventId: t.exposeID("eventId"),
    endpointId: t.exposeID("endpointId"),
    eventType: t.exposeString("eventType"),
    status: t.expose("status", { type: DeliveryStatusEnum }),
    attemptCount: t.exposeInt("attemptCount"),
    nextAttemptAt: t.expose("nextAttemptAt", {
      type: "DateTime",
      nullable: true,
      description:
        "When the next attempt is due (while SENDING: when the current lease ends); null once final.",
    }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    // A DELIVERIES_WRITE-only key gets deliveries back from replay/test: the payload stays behind READ.
    event: t.relation("event", { authScopes: { scope: "DELIVERIES_READ" } }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});
