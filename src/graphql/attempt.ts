import { envelopeOf } from "../domain/envelope.js";
import { AttemptStatus } from "../generated/prisma/enums.js";
import { builder } from "./builder.js";
import { AttemptTriggerEnum } from "./delivery.js";

export const AttemptStatusEnum = builder.enumType(AttemptStatus, { name: "AttemptStatus" });

/** One HTTP attempt of a delivery, as sent and as answered (response body capped). */
export const AttemptRef = builder.prismaObject("Attempt", {
  fields: (t) => ({
    id: t.exposeID("id"),
    deliveryId: t.exposeID("deliveryId"),
    endpointId: t.exposeID("endpointId"),
    attemptNumber: t.exposeInt("attemptNumber"),
    url: t.exposeString("url"),
    status: t.expose("status", { type: AttemptStatusEnum }),
    trigger: t.expose("trigger", { type: AttemptTriggerEnum }),
    requestHeaders: t.expose("requestHeaders", {
      type: "JSON",
      description: "Headers as sent, with sensitive values redacted.",
    }),
    requestBody: t.string({
      description: "The body as sent.",
      // The dispatcher does not copy the event's envelope into its attempts (request_body NULL): it is
      // rebuilt from the event by the same function that built the request.
      select: {
        requestBody: true,
        delivery: {
          select: { event: { select: { id: true, type: true, createdAt: true, payload: true, test: true } } },
        },
      },
      resolve: (attempt) => attempt.requestBody ?? envelopeOf(attempt.delivery.event),
    }),
    responseCode: t.exposeInt("responseCode", { nullable: true }),
    responseBody: t.exposeString("responseBody", { nullable: true }),
    durationMs: t.exposeInt("durationMs"),
    errorMessage: t.exposeString("errorMessage", { nullable: true }),
    delivery: t.relation("delivery"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
