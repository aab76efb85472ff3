import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.js";
import "./errors.js";
import "./api-key.js";
import "./tenant.js";
import "./delivery-profile.js";
import "./event-type.js";
import "./endpoint.js";
import "./endpoint-health.js";
import "./event.js";
import "./delivery.js";
import "./attempt.js";
import "./delivery-queries.js";
import "./subscription.js";
import "./publish.js";
import { markOffsetPages } from "./pagination.js";

/** Built once per process. */
export const schema = markOffsetPages(builder.toSchema({ sortSchema: true }));

/** The SDL committed as schema/schema.graphql (a test fails when it is stale). */
export function printHookgateSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
