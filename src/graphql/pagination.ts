import {
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  getNamedType,
  isObjectType,
} from "graphql";
import { builder, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./builder.js";

/*
 * The connection helpers every list field uses: page-size limits (each field its own maximum),
 * cost pricing, and `offset` paging beside first/after. Offset keeps Relay's contract: every
 * edge still has its cursor (so a client can switch to `after` at any point), totalCount
 * ignores paging, and hasPreviousPage is true once rows were skipped.
 */

/** Page-size maximum of the high-volume logs: events, deliveries, attempts (Sonzai pages 500 attempts). */
export const LARGE_PAGE_SIZE = 500;
/** Deepest offset accepted: past it PostgreSQL reads and throws away that many rows per page; use `after`. */
export const MAX_OFFSET = 100_000;

interface PageArgs {
  first?: number | null;
  last?: number | null;
  before?: string | null;
  after?: string | null;
  offset?: number | null;
}

function refuse(argument: string, message: string): never {
  throw new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", argument } });
}

/** Refuses sizes past this field's maximum (rather than Pothos' silent clamp) and misused offsets. */
function checkPageArgs(args: PageArgs, max: number): number {
  for (const [name, value] of [
    ["first", args.first],
    ["last", args.last],
  ] as const) {
    if (value != null && (value < 0 || value > max)) {
      refuse(name, `${name} must be between 0 and ${max}, got ${value}`);
    }
  }
  const offset = args.offset;
  if (offset != null) {
    if (offset < 0 || offset > MAX_OFFSET) {
      refuse(
        "offset",
        `offset must be between 0 and ${MAX_OFFSET}, got ${offset}; page further with after (cursors)`,
      );
    }
    if (args.last != null || args.before != null) {
      refuse("offset", "offset pages forward: use it with first (and optionally after), not last/before");
    }
  }
  return max;
}

/**
 * Spread into a connection field: `maxSize` checks first/last/offset against this field's
 * maximum, and `complexity` prices the field so that its page size multiplies the cost of what is
 * selected inside it (the complexity limit then refuses nested pages whose product is too large
 * before anything runs).
 */
export function pagination(max: number = MAX_PAGE_SIZE) {
  return {
    maxSize: (args: PageArgs) => checkPageArgs(args, max),
    defaultSize: DEFAULT_PAGE_SIZE,
    complexity: (args: PageArgs) => ({
      field: 2,
      multiplier: Math.max(1, args.first ?? args.last ?? DEFAULT_PAGE_SIZE),
    }),
  } as const;
}

/** The `offset` argument; spread into a connection's `args`. */
export const OFFSET_ARGS = builder.args((t) => ({
  offset: t.int({
    description: `Skip this many rows (0–${MAX_OFFSET}) before the page; with first (and optionally after). Edges keep their cursors.`,
  }),
}));

/** Rows to skip for a forward page: the cursor row itself (after) plus the offset. */
export function offsetSkip(args: PageArgs): number | undefined {
  if (!args.offset) return undefined;
  return (args.after != null ? 1 : 0) + args.offset;
}

/** A root connection's planned query (take/skip/cursor from first/after) moved on by `offset`. */
export function withOffset<Q extends { skip?: number }>(query: Q, args: PageArgs): Q {
  const skip = offsetSkip(args);
  return skip === undefined ? query : { ...query, skip };
}

type Connection = { pageInfo?: { hasPreviousPage?: boolean } } | null | undefined;

function markSkipped(connection: Connection): Connection {
  if (connection?.pageInfo) connection.pageInfo.hasPreviousPage = true;
  return connection;
}

/**
 * Pothos computes hasPreviousPage from `after`/`last` only; a page reached by offset has rows
 * before it too. Wraps every connection field that takes `offset` (so any connection built with
 * OFFSET_ARGS gets it) once, when the schema is built.
 */
export function markOffsetPages(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (!field.args.some((a) => a.name === "offset")) continue;
      if (!getNamedType(field.type).name.endsWith("Connection")) continue;
      const inner = field.resolve as GraphQLFieldResolver<unknown, unknown, PageArgs> | undefined;
      if (!inner) continue;
      field.resolve = (source, args: PageArgs, ctx, info) => {
        const result = inner(source, args, ctx, info) as Connection | Promise<Connection>;
        if (!args.offset) return result;
        return result instanceof Promise ? result.then(markSkipped) : markSkipped(result);
      };
    }
  }
  return schema;
}
