import { GraphQLError } from "graphql";
import { maskError as yogaMaskError } from "graphql-yoga";
import { isUnavailableError, UNAVAILABLE_MESSAGE } from "../db/availability.js";

/** Seconds a client is asked to wait before retrying a call refused during a database outage. */
const RETRY_AFTER_SECONDS = 1;

/**
 * The error every call gets while the database is away: typed, retryable, and without driver text.
 * Over HTTP it carries the status (503) and Retry-After; graphql-ws has neither.
 */
export function unavailableError(path?: readonly (string | number)[], http = true): GraphQLError {
  return new GraphQLError(UNAVAILABLE_MESSAGE, {
    path,
    extensions: {
      code: "UNAVAILABLE",
      ...(http && { http: { status: 503, headers: { "retry-after": String(RETRY_AFTER_SECONDS) } } }),
    },
  });
}

/**
 * Yoga's error masking, except that a database outage (whatever driver or layer reported it) is
 * answered as UNAVAILABLE / HTTP 503 rather than masked as an unexpected error: the client learns
 * the call is safe to retry, and never sees a driver message or the database's address.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  if (isUnavailableError(error)) {
    return unavailableError(error instanceof GraphQLError ? error.path : undefined);
  }
  return yogaMaskError(error, message, isDev);
}
