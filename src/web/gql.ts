import { type Client, createClient } from "graphql-ws";

/** What the header shows: the socket's state, as the user should read it. */
export type ConnState = "connecting" | "connected" | "reconnecting" | "refused";

export interface GqlError {
  message: string;
  extensions?: { code?: string } & Record<string, unknown>;
}

/** A GraphQL request that came back with top-level errors, or a socket that closed on it. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly errors: GqlError[] = [],
  ) {
    super(message);
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** graphql-ws close codes that mean the key was refused: retrying cannot help. */
const AUTH_CLOSE_CODES = new Set([4401, 4403]);

export interface Gql {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Calls onData with every result; returns the unsubscribe function. */
  subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    onData: (data: T) => void,
    onError: (err: RequestError) => void,
  ): () => void;
  /** Called with every state change (and once now); returns the unsubscribe function. */
  onState(cb: (state: ConnState, reconnected: boolean) => void): () => void;
  dispose(): void;
}

function toError(err: unknown): RequestError {
  if (Array.isArray(err)) return new RequestError((err as GqlError[]).map((e) => e.message).join("; "), err);
  if (err && typeof err === "object" && "code" in err) {
    const close = err as { code: number; reason?: string };
    return new RequestError(`Connection closed (${close.code}${close.reason ? `: ${close.reason}` : ""})`, [
      {
        message: close.reason ?? "",
        extensions: { code: AUTH_CLOSE_CODES.has(close.code) ? "UNAUTHENTICATED" : "CLOSED" },
      },
    ]);
  }
  return new RequestError(err instanceof Error ? err.message : String(err));
}

/**
 * One graphql-ws socket to this Hookgate's /graphql carries every query, mutation and the live
 * subscription. It reconnects by itself (backoff up to 5 s) unless the key is refused; graphql-ws
 * re-subscribes open subscriptions after a reconnect, and onState says when to reload lists.
 */
export function connect(apiKey: string): Gql {
  let state: ConnState = "connecting";
  let connectedOnce = false;
  const listeners = new Set<(s: ConnState, reconnected: boolean) => void>();
  const set = (s: ConnState, reconnected = false) => {
    state = s;
    for (const cb of listeners) cb(s, reconnected);
  };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client: Client = createClient({
    url: `${scheme}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    lazy: false,
    // Closes are shown through onState and the requests' own errors; graphql-ws would also log them.
    onNonLazyError: () => {},
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(250 * 2 ** retries, 5_000))),
    shouldRetry: (e) =>
      !(e && typeof e === "object" && "code" in e && AUTH_CLOSE_CODES.has((e as { code: number }).code)),
    on: {
      connecting: (isRetry) => set(isRetry || connectedOnce ? "reconnecting" : "connecting"),
      connected: () => {
        const again = connectedOnce;
        connectedOnce = true;
        set("connected", again);
      },
      closed: (e) => {
        const code = (e as { code?: number } | undefined)?.code;
        set(code !== undefined && AUTH_CLOSE_CODES.has(code) ? "refused" : "reconnecting");
      },
    },
  });
  return {
    request<T>(query: string, variables?: Record<string, unknown>) {
      return new Promise<T>((resolve, reject) => {
        let result: { data?: unknown; errors?: readonly GqlError[] } | undefined;
        client.subscribe(
          { query, variables },
          {
            next: (r) => {
              result = r as typeof result;
            },
            error: (err) => reject(toError(err)),
            complete: () => {
              if (result?.errors?.length) reject(toError([...result.errors]));
              else resolve(result?.data as T);
            },
          },
        );
      });
    },
    subscribe<T>(
      query: string,
      variables: Record<string, unknown>,
      onData: (data: T) => void,
      onError: (err: RequestError) => void,
    ) {
      return client.subscribe(
        { query, variables },
        {
          next: (r) => {
            if (r.errors?.length) onError(toError([...r.errors]));
            else onData(r.data as T);
          },
          error: (err) => onError(toError(err)),
          complete: () => {},
        },
      );
    },
    onState(cb) {
      listeners.add(cb);
      cb(state, false);
      return () => listeners.delete(cb);
    },
    dispose() {
      listeners.clear();
      void client.dispose();
    },
  };
}
