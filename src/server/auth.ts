import { GraphQLError } from "graphql";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { type AuthResult, authenticate } from "../domain/api-keys.js";
import type { App } from "../domain/app.js";
import type { GraphQLContext } from "../graphql/builder.js";

/** The API key of an `Authorization: Bearer <key>` value, or null when it is not one. */
export function bearerKey(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

export type ThrottledAuthResult = AuthResult & { throttled?: boolean };

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
  const limiter =
    config.apiRateLimitPerSecond > 0
      ? new RateLimiterMemory({ points: config.apiRateLimitPerSecond, duration: 1 })
      : null;

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
          reason: `Too many failed authentications from this address: try again in ${seconds} s`,
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
    const ctx: GraphQLContext = { app, actor: null, authError: null, requestId };
    if (!authorization) return ctx;
    const key = bearerKey(authorization);
    if (!key) {
      ctx.authError = "Malformed Authorization header: expected 'Bearer <api key>'";
      return ctx;
    }
    const result = await authenticateFrom(clientIp, key);
    if (!result.ok) {
      if (result.throttled) {
        throw new GraphQLError(result.reason, {
          extensions: { code: "RATE_LIMITED", http: { status: 429, headers: { "retry-after": "60" } } },
        });
      }
      ctx.authError = result.reason;
      return ctx;
    }
    if (limiter) {
      try {
        await limiter.consume(result.actor.keyId);
      } catch {
        throw new GraphQLError(
          `Rate limit exceeded: at most ${config.apiRateLimitPerSecond} requests per second per API key`,
          {
            extensions: { code: "RATE_LIMITED", http: { status: 429, headers: { "retry-after": "1" } } },
          },
        );
      }
    }
    ctx.actor = result.actor;
    return ctx;
  }

  return { authenticateFrom, buildContext };
}
