import { type ExecutionResult, GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { App } from "../domain/app.js";
import { SharedKeyChecks } from "../domain/key-checks.js";
import { bearerKey } from "./auth.js";

/**
 * How often a subscription over HTTP (SSE) re-checks its key, whether results flow or not: a revoked or
 * expired key's streams end within two of these (plus one key read) of the change.
 */
const SSE_RECHECK_MS = 2000;

/**
 * Ends subscriptions over HTTP (Server-Sent Events) once their API key is revoked or expires: the stream gets
 * one last result, an UNAUTHENTICATED error naming the reason, and is closed. An idle stream is ended too: the
 * check runs on a timer, not on traffic. (graphql-ws sockets are closed by ws.ts; they carry `extra` and are
 * left alone here.) Streams of one key share each read (SharedKeyChecks).
 */
export function useSseKeyWatch(app: App): Plugin {
  const keyChecks = new SharedKeyChecks(app, SSE_RECHECK_MS);
  return {
    onSubscribe({ args }) {
      const ctx = args.contextValue as { extra?: unknown; request?: Request };
      if (ctx.extra !== undefined || !ctx.request) return;
      const key = bearerKey(ctx.request.headers.get("authorization"));
      if (!key) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(endWhenKeyInvalid(app, result, key, keyChecks));
        },
      };
    },
  };
}

function endWhenKeyInvalid(
  app: App,
  source: AsyncIterable<ExecutionResult>,
  key: string,
  keyChecks: SharedKeyChecks,
): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  let checkedAt = Date.now();
  let done = false;
  let reportInvalid: (reason: string) => void = () => {};
  const invalid = new Promise<string>((resolve) => {
    reportInvalid = resolve;
  });
  const timer = setInterval(() => {
    if (!keyChecks.due(checkedAt)) return;
    keyChecks.check(key).then(
      ({ result, startedAt }) => {
        checkedAt = startedAt;
        if (!result.ok) reportInvalid(result.reason);
      },
      (err) => app.logger.warn({ err }, "subscription key re-check"),
    );
  }, SSE_RECHECK_MS);
  timer.unref();

  const finish = async (): Promise<IteratorResult<ExecutionResult>> => {
    done = true;
    clearInterval(timer);
    await it.return?.();
    return { done: true, value: undefined };
  };
  let pending: Promise<IteratorResult<ExecutionResult>> | null = null;

  return {
    async next() {
      if (done) return { done: true, value: undefined };
      pending ??= it.next();
      const outcome = await Promise.race([
        pending.then((r) => ({ r })),
        invalid.then((reason) => ({ reason })),
      ]);
      if ("reason" in outcome) {
        await finish();
        const error = new GraphQLError(outcome.reason, { extensions: { code: "UNAUTHENTICATED" } });
        return { done: false, value: { errors: [error] } };
      }
      pending = null;
      if (outcome.r.done) {
        done = true;
        clearInterval(timer);
      }
      return outcome.r;
    },
    return: finish,
    throw: async (err) => {
      await finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
