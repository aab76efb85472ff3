import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  getOperationAST,
  getVariableValues,
  print,
} from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { Actor } from "../domain/app.js";
import { isLiveUpdate } from "../domain/live.js";
import type { GraphQLContext } from "./builder.js";

/**
 * Subscription events executed once per audience instead of once per subscriber.
 *
 * graphql-js runs a subscription's selection set once per event per subscriber. When a
 * thousand dashboards watch the same endpoint with the same document, that is a thousand
 * identical executions (resolvers, scope checks, Prisma query planning, result building) for
 * every status change. Here, subscribers whose execution cannot differ share one:
 *
 *   - the same event object (the hub hands one LiveUpdate to every matching subscriber),
 *   - the same document (printed) and operation name,
 *   - the same coerced variable values,
 *   - the same actor: API key id, tenant, tenant path and scopes. The key id is part of it, so
 *     results never cross keys, even two keys of one tenant with equal scopes.
 *
 * Everything else stays per subscriber, exactly as before: each one runs the field's
 * `subscribe` resolver with its own context (scope check, tenant confinement, filters), has
 * its own event stream (filtering, buffering, dropping), and its transport re-checks its own
 * key. Only the mapping of an event that already passed a subscriber's own stream to a result
 * is shared, among subscribers for whom it is provably the same computation. Each subscriber
 * gets its own shallow copy of the result, so a plugin that replaces `errors` or adds
 * `extensions` for one subscriber does not touch another's.
 *
 * Operations that do not qualify (not a subscription, variables that do not coerce, no
 * actor) run through the ordinary subscribe function untouched.
 */

/** Counts shared executions; the app's metrics in production, a spy in tests. */
export interface SharedExecutionObserver {
  /** One event executed for one audience (a cache miss). */
  executed(): void;
  /** One subscriber served a result executed for another (a cache hit). */
  shared(): void;
}

type Args = ExecutionArgs & { contextValue?: unknown };

const printedDocuments = new WeakMap<DocumentNode, string>();

function documentKey(document: DocumentNode): string {
  let key = printedDocuments.get(document);
  if (key === undefined) {
    key = print(document);
    printedDocuments.set(document, key);
  }
  return key;
}

function actorKey(actor: Actor): string {
  return JSON.stringify([actor.keyId, actor.tenantId, actor.tenantPath, [...actor.scopes].sort()]);
}

/**
 * The audience key of a subscription, or null when it must not share: what makes two
 * executions of one event equal (see above).
 */
export function sharedExecutionKey(args: Args): string | null {
  const ctx = args.contextValue as Partial<GraphQLContext> | undefined;
  if (!ctx?.actor) return null;
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== "subscription") return null;
  const coerced = getVariableValues(
    args.schema,
    operation.variableDefinitions ?? [],
    (args.variableValues ?? {}) as Record<string, unknown>,
  );
  // Left to the ordinary path, which reports them in its own words.
  if (coerced.errors) return null;
  let variables: string;
  try {
    // Coerced values are built in definition order, so equal inputs stringify equally.
    variables = JSON.stringify(coerced.coerced);
  } catch {
    return null;
  }
  return JSON.stringify([
    documentKey(args.document),
    args.operationName ?? null,
    variables,
    actorKey(ctx.actor),
  ]);
}

/**
 * Results being (or already) executed, per event and audience. Weakly keyed by the event
 * object: an entry lives as long as some subscriber still holds the event, no longer.
 */
export class SharedExecutions {
  private readonly byEvent = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

  constructor(
    private readonly observer?: SharedExecutionObserver,
    /**
     * Events whose object identity names one event (never reused for another): only those
     * are shared. Default: the live hub's updates.
     */
    private readonly shareable: (event: unknown) => event is object = isLiveUpdate,
  ) {}

  run(event: unknown, key: string, exec: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
    if (!this.shareable(event)) return exec();
    let results = this.byEvent.get(event);
    if (!results) {
      results = new Map();
      this.byEvent.set(event, results);
    }
    const existing = results.get(key);
    if (existing) {
      this.observer?.shared();
      return existing;
    }
    this.observer?.executed();
    const result = exec();
    results.set(key, result);
    return result;
  }
}

/** Per-subscriber stream: its own events, mapped to (possibly shared) results. */
function mapEvents(
  source: AsyncIterator<unknown>,
  toResult: (event: unknown) => Promise<ExecutionResult>,
  wrapError: (err: unknown) => unknown,
): AsyncIterableIterator<ExecutionResult> {
  // Not an async generator: return() must end the source at once, even while next() waits.
  const it: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      let r: IteratorResult<unknown>;
      try {
        r = await source.next();
      } catch (err) {
        throw wrapError(err);
      }
      if (r.done) return { done: true, value: undefined };
      // A copy per subscriber: the shared result itself is never handed out.
      return { done: false, value: { ...(await toResult(r.value)) } };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(err?: unknown) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

/**
 * The envelop/Yoga plugin. Install it once per server (its cache is per instance); results
 * are shared across every transport that subscribes through it (graphql-ws and SSE).
 */
export function useSharedSubscriptionExecution(
  opts: { observer?: SharedExecutionObserver; shareable?: (event: unknown) => event is object } = {},
): Plugin {
  const shared = new SharedExecutions(opts.observer, opts.shareable);
  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const a = args as Args;
        // Decided on the arguments the subscribe function really gets (after other plugins).
        const key = sharedExecutionKey(a);
        if (key === null) return subscribeFn(args);
        const source = await createSourceEventStream(a);
        if (!isAsyncIterable(source)) return source as ExecutionResult;
        const operation = getOperationAST(a.document, a.operationName)!;
        return mapEvents(
          source[Symbol.asyncIterator](),
          (event) => shared.run(event, key, async () => execute({ ...a, rootValue: event })),
          (err) =>
            new GraphQLError(err instanceof Error ? err.message : String(err), {
              originalError: err instanceof Error ? err : undefined,
              nodes: [operation],
            }),
        );
      });
    },
  };
}
