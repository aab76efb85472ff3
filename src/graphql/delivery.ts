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
    // In the table, next_attempt_at keeps the due time of the attempt being sent while SENDING (the row
    // keeps its place in the queue: see dispatcher/queue.ts); the lease is lease_expires_at.
    nextAttemptAt: t.field({
      type: "DateTime",
      nullable: true,
      description:
        "When the next attempt is scheduled; null while an attempt is being sent (SENDING) and once final.",
      select: { status: true, nextAttemptAt: true },
      resolve: (d) => (d.status === "SENDING" ? null : d.nextAttemptAt),
    }),
    leaseExpiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description:
        "While SENDING: when the sending dispatcher's lease ends (after it, another dispatcher may take the delivery over and send it again); null otherwise.",
      select: { status: true, leaseExpiresAt: true },
      resolve: (d) => (d.status === "SENDING" ? d.leaseExpiresAt : null),
    }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    // A DELIVERIES_WRITE-only key gets deliveries back from replay/test: the payload stays behind READ.
    event: t.relation("event", { authScopes: { scope: "DELIVERIES_READ" } }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});
