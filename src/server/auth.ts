import { GraphQLError } from "graphql";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { type AuthResult, authenticate } from "../domain/api-keys.js";
import type { App } from "../domain/app.js";
import { rateWindows } from "../domain/rate-windows.js";
import type { GraphQLContext } from "../graphql/builder.js";

/** The API key of an `Authorization: Bearer <key>` value, or null when it is not one. */
export function bearerKey(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * The `Authorization` value of graphql-ws connectionParams. Accepted spellings, in this order:
 * `authorization`, `Authorization`, `headers.authorization`, `headers.Authorization` (Apollo and
 * urql examples put it under `headers`; HTTP headers are case-insensitive, so both cases are
 * taken). The value must still be `Bearer <api key>`.
 */
export function connectionAuthorization(params: unknown): unknown {
  if (typeof params !== "object" || params === null) return undefined;
  const p = params as Record<string, unknown>;
  const headers =
    typeof p.headers === "object" && p.headers !== null ? (p.headers as Record<string, unknown>) : {};
  return p.authorization ?? p.Authorization ?? headers.authorization ?? headers.Authorization;
}

const MALFORMED_KEY = "Malformed Authorization header: expected 'Bearer <api key>'";

/**
 * The refusal of a request whose credentials failed. 401 with a `WWW-Authenticate` challenge
 * (RFC 6750) for `application/graphql-response+json` clients; `spec: true` keeps HTTP 200 for
 * `application/json` clients, as the GraphQL-over-HTTP spec asks of that media type.
 */
export function unauthenticated(reason: string): GraphQLError {
  const description = reason.replace(/["\\]/g, "'");
  return new GraphQLError(reason, {
    extensions: {
      code: "UNAUTHENTICATED",
      http: {
        status: 401,
        spec: true,
        headers: {
          "www-authenticate": `Bearer realm="hookgate", error="invalid_token", error_description="${description}"`,
        },
      },
    },
  });
}

export type ThrottledAuthResult = AuthResult & { throttled?: boolean; retryAfterSeconds?: number };

/** 429 with a `retry-after` header that says what the message says. */
function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: "RATE_LIMITED",
      retryAfterSeconds,
      http: { status: 429, headers: { "retry-after": String(retryAfterSeconds) } },
    },
  });
}

/**
 * Authentication for HTTP requests and WebSocket connections: the key lookup, the per-address
 * throttle of failed authentications and the per-key request rate limit.
 */
export interface Authenticator {
  /** Looks the key up unless the client address is throttled; a failure counts against the address. */
  authenticateFrom(clientIp: string, key: string): Promise<ThrottledAuthResult>;
  /** The GraphQL context of one request or operation (actor, or the reason there is none). */
  buildContext(
    authorization: string | null | undefined,
    requestId: string,
    clientIp: string,
  ): Promise<GraphQLContext>;
}

export function createAuthenticator(app: App): Authenticator {
  const { config } = app;
  // Per API key, for the whole deployment (every API process takes from one window: domain/rate-windows.ts).
  const limiter = config.apiRateLimitPerSecond > 0 ? rateWindows(app.db) : null;

  // Guessing keys costs the guesser: failed authentications are counted per client address, and
  // an address past the limit is refused before any lookup for the rest of the window.
  const authFailures =
    config.authFailureLimitPerMinute > 0
      ? new RateLimiterMemory({ points: config.authFailureLimitPerMinute, duration: 60 })
      : null;

  async function authenticateFrom(clientIp: string, key: string): Promise<ThrottledAuthResult> {
    if (authFailures) {
      const seen = await authFailures.get(clientIp);
      if (seen && seen.consumedPoints >= config.authFailureLimitPerMinute) {
        const seconds = Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
        return {
          ok: false,
          throttled: true,
          retryAfterSeconds: seconds,
          reason: `Too many failed authentications from this address: try again in ${seconds} s (HOOKGATE_AUTH_FAILURE_LIMIT)`,
        };
      }
    }
    const result = await authenticate(app, key);
    if (!result.ok && authFailures) await authFailures.penalty(clientIp, 1);
    return result;
  }

  async function buildContext(
    authorization: string | null | undefined,
    requestId: string,
    clientIp: string,
  ): Promise<GraphQLContext> {
    const ctx: GraphQLContext = { app, actor: null, requestId };
    // No key: fields that need one say so (UNAUTHENTICATED), `{ __typename }` still runs.
    // A key that fails refuses the whole request before execution.
    if (!authorization) return ctx;
    const key = bearerKey(authorization);
    if (!key) throw unauthenticated(MALFORMED_KEY);
    const result = await authenticateFrom(clientIp, key);
    if (!result.ok) {
      if (result.throttled) throw rateLimited(result.reason, result.retryAfterSeconds ?? 60);
      throw unauthenticated(result.reason);
    }
    if (limiter) {
      const take = await limiter.takeOne(`api:${result.actor.keyId}`, config.apiRateLimitPerSecond);
      if (take.granted === 0) {
        throw rateLimited(
          `Rate limit exceeded: at most ${config.apiRateLimitPerSecond} requests per second per API key (HOOKGATE_API_RATE_LIMIT)`,
          Math.max(1, Math.ceil(take.resetMs / 1000)),
        );
      }
    }
    ctx.actor = result.actor;
    return ctx;
  }

  return { authenticateFrom, buildContext };
}
