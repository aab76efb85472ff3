import { GraphQLError } from "graphql";

/** The largest `offset` a connection accepts: deeper pages are reached with `after`, which stays cheap. */
export const MAX_OFFSET = 10_000;

/**
 * `offset` for a Prisma connection: skips that many rows from the start (or from `after`), for clients
 * that page by number. Added to the `skip` Pothos puts in the query (1 when a cursor is given); the
 * edges' cursors stay id cursors, so `after` continues from an offset page as from any other.
 */
export function withOffset<Q extends { skip?: number }>(query: Q, offset: number | null | undefined): Q {
  const n = checkedOffset(offset);
  return n === 0 ? query : { ...query, skip: (query.skip ?? 0) + n };
}

/**
 * The offset, refused outside 0..MAX_OFFSET. Called by totalCount as well, which runs without the
 * page's resolver when only totalCount is selected.
 */
export function checkedOffset(offset: number | null | undefined): number {
  if (offset == null) return 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw new GraphQLError(
      `offset must be between 0 and ${MAX_OFFSET} (got ${offset}); page further with after`,
      {
        extensions: { code: "BAD_USER_INPUT" },
      },
    );
  }
  return offset;
}

/** Description of the `offset` argument of connections that take one. */
export const OFFSET_DESCRIPTION = `Rows to skip before the page (0 to ${MAX_OFFSET}), from the start or from after.`;
