import { GraphQLError } from "graphql";
import type { Actor } from "../domain/app.js";
import type { GraphQLContext } from "./builder.js";

/** The caller; fields reach this only behind an authScopes check, so null is a wiring bug. */
export function requireActor(ctx: GraphQLContext): Actor {
  if (!ctx.actor) {
    throw new GraphQLError("Authentication required: send Authorization: Bearer <api key>", {
      extensions: { code: "UNAUTHENTICATED" },
    });
  }
  return ctx.actor;
}
