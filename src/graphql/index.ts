import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.js";
import "./errors.js";
import "./api-key.js";
import "./tenant.js";

/** Built once per process. */
export const schema = builder.toSchema({ sortSchema: true });

/** The SDL committed as schema/schema.graphql (a test fails when it is stale). */
export function printHookgateSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
