import { type DocumentNode, type OperationDefinitionNode, print } from "graphql";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import type { DeliveryFilter, DeliveryUpdatedSubscription } from "./generated/graphql.js";
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
  /**
   * The WebSocket class for subscriptions. Defaults to the global WebSocket, or to the `ws` package where
   * there is none (Node 20).
   */
  webSocketImpl?: unknown;
  /**
   * How often a subscription's socket reconnects after it dropped (network error, server restart), with
   * randomised exponential backoff; default 5. Refusals are never retried: a key that is unknown, revoked or
   * expired (close 4401, 4403) or a malformed request ends the subscription with a HookgateClientError.
   */
  retryAttempts?: number;
  headers?: Record<string, string>;
}

/**
 * A failure that is not a typed result: authentication and scope errors (code UNAUTHENTICATED, FORBIDDEN),
 * invalid documents, limits, a socket closed by the server. Typed results (ValidationError, NotFoundError,
 * ConflictError) are returned, not thrown; transport errors (fetch, DNS) are thrown as they are.
 */
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
  /** deliveryUpdated over graphql-ws: every status change and attempt, as an async iterator. */
  deliveryUpdated(filter?: DeliveryFilter): AsyncIterable<DeliveryUpdatedSubscription["deliveryUpdated"]>;
  /** Closes the WebSocket used by subscriptions, if one was opened. */
  close(): Promise<void>;
};

/** Close codes that mean "refused": reconnecting with the same key cannot help. */
const REFUSED_CLOSE_CODES: Record<number, string> = {
  4400: "BAD_REQUEST",
  4401: "UNAUTHENTICATED",
  4403: "FORBIDDEN",
  4429: "TOO_MANY_REQUESTS",
};

function isCloseEvent(e: unknown): e is { code: number; reason: string } {
  return (
    typeof e === "object" && e !== null && "code" in e && typeof (e as { code: unknown }).code === "number"
  );
}

function closeError(e: { code: number; reason: string }): HookgateClientError {
  const code = REFUSED_CLOSE_CODES[e.code] ?? "SOCKET_CLOSED";
  return new HookgateClientError(
    `subscription socket closed: ${e.code}${e.reason ? ` ${e.reason}` : ""}`,
    [{ message: e.reason || `socket closed with ${e.code}`, extensions: { code, closeCode: e.code } }],
    0,
  );
}

async function defaultWebSocket(): Promise<unknown> {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function") {
    return (globalThis as { WebSocket?: unknown }).WebSocket;
  }
  // Node 20 has no global WebSocket. Imported only here, so that browsers never load it.
  const ws = await import("ws");
  return ws.WebSocket;
}

/**
 * The typed SDK: one method per operation in src/client/operations, e.g.
 * `await client.PublishEvent({ input: { type: "invoice.paid", payload: {...} } })`.
 * Queries and mutations go over HTTP; subscriptions over graphql-ws and return an AsyncIterable.
 */
export function createHookgateClient(opts: HookgateClientOptions): HookgateClient {
  const base = opts.url.replace(/\/+$/, "");
  const endpoint = base.endsWith("/graphql") ? base : `${base}/graphql`;
  const doFetch = opts.fetch ?? fetch;
  let ws: Promise<WsClient> | undefined;

  const socket = (): Promise<WsClient> => {
    ws ??= (async () =>
      createWsClient({
        url: endpoint.replace(/^http/, "ws"),
        connectionParams: { authorization: `Bearer ${opts.apiKey}` },
        webSocketImpl: opts.webSocketImpl ?? (await defaultWebSocket()),
        lazy: true,
        retryAttempts: opts.retryAttempts ?? 5,
        // Retry only a dropped connection (a close without a refusal code, or a network error before
        // one); graphql-ws itself never retries 4400/4401/4406/4409/4429/4500.
        shouldRetry: (e) => !(isCloseEvent(e) && e.code in REFUSED_CLOSE_CODES),
      }))();
    return ws;
  };

  const subscribe = <R>(doc: DocumentNode, variables: unknown): AsyncIterable<R> =>
    (async function* () {
      const iterator = (await socket()).iterate<R>({
        query: print(doc),
        variables: variables as Record<string, unknown>,
      });
      try {
        for await (const result of iterator) {
          if (result.errors?.length) {
            throw new HookgateClientError(result.errors[0]!.message, result.errors as never, 200);
          }
          yield result.data as R;
        }
      } catch (err) {
        if (isCloseEvent(err)) throw closeError(err);
        if (Array.isArray(err)) {
          const errors = err as HookgateClientError["errors"];
          throw new HookgateClientError(errors[0]?.message ?? "subscription failed", errors, 200);
        }
        throw err;
      } finally {
        await iterator.return?.();
      }
    })();

  const requester = <R, V>(doc: DocumentNode, variables?: V): Promise<R> | AsyncIterable<R> => {
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
    if (op?.operation === "subscription") return subscribe<R>(doc, variables);
    return (async () => {
      const res = await doFetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          authorization: `Bearer ${opts.apiKey}`,
          ...opts.headers,
        },
        body: JSON.stringify({ query: print(doc), variables }),
      });
      const body = (await res.json().catch(() => null)) as {
        data?: R;
        errors?: HookgateClientError["errors"];
      } | null;
      if (!body || typeof body !== "object")
        throw new HookgateClientError(`HTTP ${res.status} with no GraphQL body`, [], res.status);
      if (body.errors?.length)
        throw new HookgateClientError(body.errors[0]!.message, body.errors, res.status);
      // Something else answered (another server on that port, a proxy's error page as JSON).
      if (body.data == null)
        throw new HookgateClientError(
          `HTTP ${res.status} with no GraphQL data from ${endpoint}: is it Hookgate's /graphql?`,
          [],
          res.status,
        );
      return body.data as R;
    })();
  };

  const sdk = getSdk(requester);
  return Object.assign(sdk, {
    deliveryUpdated(filter?: DeliveryFilter) {
      const updates = sdk.DeliveryUpdated({ filter });
      return (async function* () {
        for await (const u of updates) yield u.deliveryUpdated;
      })();
    },
    async close() {
      const client = await ws;
      await client?.dispose();
    },
  });
}
