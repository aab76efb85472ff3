import { type DocumentNode, type OperationDefinitionNode, print } from "graphql";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { getSdk } from "./generated/sdk.js";

export { verifyWebhook, WebhookVerificationError } from "../signing/index.js";
export * from "./generated/graphql.js";
export { default as introspection } from "./generated/introspection.js";
export { possibleTypes } from "./possible-types.js";
export type Sdk = ReturnType<typeof getSdk>;

export interface HookgateClientOptions {
  /** Base URL of Hookgate, e.g. http://127.0.0.1:4000 (the /graphql path is added). */
  url: string;
  apiKey: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Needed for subscriptions on Node 20, which has no global WebSocket: pass `WebSocket` from "ws". */
  webSocketImpl?: unknown;
  headers?: Record<string, string>;
}

/** A GraphQL-level failure (auth, validation of the document, limits). Typed results are not errors. */
export class HookgateClientError extends Error {
  constructor(
    message: string,
    readonly errors: { message: string; extensions?: Record<string, unknown> }[],
    readonly status: number,
  ) {
    super(message);
    this.name = "HookgateClientError";
  }

  /** extensions.code of the first error, e.g. UNAUTHENTICATED or FORBIDDEN. */
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code as string | undefined;
  }
}

export type HookgateClient = Sdk & {
  /** Closes the WebSocket used by subscriptions, if one was opened. */
  close(): Promise<void>;
};

/**
 * The typed SDK: one method per operation in src/client/operations, e.g.
 * `await client.PublishEvent({ input: { type: "invoice.paid", payload: {...} } })`.
 * Queries and mutations go over HTTP; subscriptions over graphql-ws and return an AsyncIterable.
 */
export function createClient(opts: HookgateClientOptions): HookgateClient {
  const base = opts.url.replace(/\/+$/, "");
  const endpoint = base.endsWith("/graphql") ? base : `${base}/graphql`;
  const doFetch = opts.fetch ?? fetch;
  let ws: WsClient | undefined;

  const requester = <R, V>(doc: DocumentNode, variables?: V): Promise<R> | AsyncIterable<R> => {
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
    if (op?.operation === "subscription") {
      ws ??= createWsClient({
        url: endpoint.replace(/^http/, "ws"),
        connectionParams: { authorization: `Bearer ${opts.apiKey}` },
        webSocketImpl: opts.webSocketImpl,
        lazy: true,
      });
      const iterator = ws.iterate<R>({ query: print(doc), variables: variables as Record<string, unknown> });
      return (async function* () {
        for await (const result of iterator) {
          if (result.errors?.length) {
            throw new HookgateClientError(result.errors[0]!.message, result.errors as never, 200);
          }
          yield result.data as R;
        }
      })();
    }
    return (async () => {
      const res = await doFetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${opts.apiKey}`,
          ...opts.headers,
        },
        body: JSON.stringify({ query: print(doc), variables }),
      });
      const body = (await res.json().catch(() => null)) as {
        data?: R;
        errors?: HookgateClientError["errors"];
      } | null;
      if (!body) throw new HookgateClientError(`HTTP ${res.status} with no GraphQL body`, [], res.status);
      if (body.errors?.length)
        throw new HookgateClientError(body.errors[0]!.message, body.errors, res.status);
      return body.data as R;
    })();
  };

  return Object.assign(getSdk(requester), {
    async close() {
      await ws?.dispose();
    },
  });
}
