import { GraphQLError } from "graphql";
import {
  type EndpointHealth,
  endpointHealth,
  HEALTH_ATTEMPTS_MAX,
  HEALTH_WINDOW_DEFAULT_SECONDS,
  HEALTH_WINDOW_MAX_SECONDS,
} from "../domain/endpoint-health.js";
import { builder } from "./builder.js";
import { EndpointRef } from "./endpoint.js";

const EndpointHealthRef = builder.objectRef<EndpointHealth>("EndpointHealth").implement({
  description: `How an endpoint has been doing lately, judged on its latest attempts in a window (at most ${HEALTH_ATTEMPTS_MAX}).`,
  fields: (t) => ({
    windowSeconds: t.exposeInt("windowSeconds"),
    attempts: t.exposeInt("attempts", {
      description: `Attempts looked at (at most ${HEALTH_ATTEMPTS_MAX}).`,
    }),
    succeeded: t.exposeInt("succeeded"),
    successRate: t.exposeFloat("successRate", {
      nullable: true,
      description: "succeeded / attempts, from 0 to 1; null when there was no attempt in the window.",
    }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    lastFailureAt: t.expose("lastFailureAt", { type: "DateTime", nullable: true }),
    lastFailureResponseCode: t.exposeInt("lastFailureResponseCode", { nullable: true }),
    lastFailureReason: t.exposeString("lastFailureReason", {
      nullable: true,
      description: "The latest failed attempt's error, or its HTTP status when the receiver answered.",
    }),
  }),
});

builder.prismaObjectField(EndpointRef, "health", (t) =>
  t.field({
    type: EndpointHealthRef,
    description: "Success rate and latest failure over a recent window (default 24 hours).",
    args: {
      windowSeconds: t.arg.int({
        description: `Window length in seconds, 60 to ${HEALTH_WINDOW_MAX_SECONDS} (default ${HEALTH_WINDOW_DEFAULT_SECONDS}).`,
      }),
    },
    // One bounded index scan per endpoint.
    complexity: 5,
    select: { id: true },
    resolve: (endpoint, args, ctx) => {
      const window = args.windowSeconds ?? HEALTH_WINDOW_DEFAULT_SECONDS;
      if (!Number.isInteger(window) || window < 60 || window > HEALTH_WINDOW_MAX_SECONDS) {
        throw new GraphQLError(
          `health(windowSeconds:) must be from 60 to ${HEALTH_WINDOW_MAX_SECONDS}; got ${window}`,
          { extensions: { code: "BAD_USER_INPUT" } },
        );
      }
      return endpointHealth(ctx.app, endpoint.id, window);
    },
  }),
);
