import { getOperationAST } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Metrics } from "../metrics.js";

/** Distinct operation names kept as label values; later names share "other" (names are client-chosen). */
const MAX_OPERATION_NAMES = 200;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Records every GraphQL operation, whatever the transport (HTTP, SSE, graphql-ws all run through
 * Yoga's envelop): hookgate_graphql_operations_total by type and outcome (operations refused by
 * validation count as errors), the execution time of
 * queries and mutations by operation name, and the number of subscriptions open now.
 */
export function useOperationMetrics(metrics: Metrics): Plugin {
  const names = new Set<string>();
  const label = (name: string | undefined): string => {
    if (!name) return "anonymous";
    if (!NAME_RE.test(name)) return "other";
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return "other";
    names.add(name);
    return name;
  };
  return {
    onValidate({ params }) {
      return ({ result }) => {
        if (result.length === 0) return;
        const type = getOperationAST(params.documentAST)?.operation ?? "unknown";
        metrics.graphqlOperations.inc({ type, outcome: "error" });
      };
    },
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const type = operation?.operation ?? "unknown";
      const name = label(operation?.name?.value ?? args.operationName ?? undefined);
      const stop = metrics.graphqlDuration.startTimer({ operation: name, type });
      return {
        onExecuteDone({ result }) {
          stop();
          const failed = "errors" in result && (result.errors?.length ?? 0) > 0;
          metrics.graphqlOperations.inc({ type, outcome: failed ? "error" : "ok" });
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result }) {
          if (Symbol.asyncIterator in result) {
            metrics.graphqlOperations.inc({ type: "subscription", outcome: "ok" });
            metrics.graphqlSubscriptions.inc();
            let ended = false;
            return {
              onEnd() {
                if (ended) return;
                ended = true;
                metrics.graphqlSubscriptions.dec();
              },
            };
          }
          metrics.graphqlOperations.inc({ type: "subscription", outcome: "error" });
          return undefined;
        },
        onSubscribeError() {
          metrics.graphqlOperations.inc({ type: "subscription", outcome: "error" });
        },
      };
    },
  };
}
