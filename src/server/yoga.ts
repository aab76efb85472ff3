import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import type { Context as WsContext } from "graphql-ws";
import { createYoga, type YogaInitialContext, type YogaServerInstance } from "graphql-yoga";
import type { App } from "../domain/app.js";
import type { GraphQLContext } from "../graphql/builder.js";
import { schema } from "../graphql/index.js";
import { useSharedSubscriptionExecution } from "../graphql/live-execution.js";
import { type Authenticator, connectionAuthorization } from "./auth.js";
import { csrfPrevention } from "./csrf.js";
import { GRAPHIQL_OPTIONS, renderGraphiQL } from "./graphiql.js";
import { strictJsonBody } from "./json-body.js";
import { operationLimits } from "./limits.js";
import { useOperationMetrics } from "./metrics-plugin.js";
import { persistedQueries } from "./persisted.js";
import { singleConnectionSse } from "./sse.js";
import { useSseKeyWatch } from "./sse-key-watch.js";
import { maskError } from "./unavailable.js";

/** What node:http hands Yoga for each request. */
export interface ServerContext {
  requestId: string;
  /** Remote address of the HTTP connection (failed-authentication throttling). */
  clientIp?: string;
}

/** What graphql-ws keeps per socket. */
export type WsExtra = {
  request: IncomingMessage;
  socket: import("ws").WebSocket;
  /** The connection's API key, kept to re-check revocation and expiry while it is open. */
  auth?: { key: string; checkedAt: number };
};

export type YogaContext = ServerContext & Partial<WsContext<Record<string, unknown>, WsExtra>>;
export type HookgateYoga = YogaServerInstance<YogaContext, GraphQLContext>;

/** graphql-yoga for HTTP and SSE on /graphql (graphql-ws reuses its envelop, see ws.ts). */
export function createHookgateYoga(app: App, auth: Authenticator): HookgateYoga {
  const { config, logger } = app;
  return createYoga<YogaContext, GraphQLContext>({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: config.graphiql ? GRAPHIQL_OPTIONS : false,
    renderGraphiQL,
    landingPage: false,
    // No file uploads: multipart/form-data bodies are refused (415), not parsed.
    multipart: false,
    maskedErrors: { maskError },
    logging: {
      debug: (...a) => logger.debug(a.map(String).join(" ")),
      info: (...a) => logger.info(a.map(String).join(" ")),
      warn: (...a) => logger.warn(a.map(String).join(" ")),
      error: (...a) => logger.error({ err: a[0] }, "graphql error"),
    },
    context: async (initial: YogaInitialContext & YogaContext) => {
      if (initial.connectionParams !== undefined || initial.extra) {
        const authorization = connectionAuthorization(initial.connectionParams);
        return auth.buildContext(
          typeof authorization === "string" ? authorization : null,
          initial.requestId ?? randomUUID(),
          initial.extra?.request.socket.remoteAddress ?? "unknown",
        );
      }
      return auth.buildContext(
        initial.request.headers.get("authorization"),
        initial.requestId,
        initial.clientIp ?? "unknown",
      );
    },
    plugins: [
      singleConnectionSse(auth),
      csrfPrevention(),
      ...persistedQueries(config),
      strictJsonBody,
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      operationLimits(config),
      useOperationMetrics(app.metrics),
      // Subscriptions over SSE end when their key is revoked or expires (graphql-ws: see ws.ts).
      useSseKeyWatch(app),
      // Subscribers whose results cannot differ share one execution per event.
      useSharedSubscriptionExecution({
        observer: {
          executed: () => app.metrics.subscriptionExecutions.inc(),
          shared: () => app.metrics.subscriptionResultsShared.inc(),
        },
      }),
    ],
  });
}
