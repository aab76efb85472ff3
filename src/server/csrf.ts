import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

/**
 * CSRF prevention. Requests a browser sends cross-site without a preflight (GET, or POST as
 * text/plain, form-urlencoded or multipart) must carry the `x-graphql-yoga-csrf` header, except
 * GET requests with an `Authorization` header: a page cannot attach one cross-site without a
 * preflight, and the credential it carries is not ambient (the browser never sends a Bearer key
 * on its own), so GET queries from real clients (urql's default, Apollo's `useGETForQueries`) are
 * served. Content-Type must NOT count as a preflight header: every such POST has one. Mutations
 * are never run over GET (Yoga answers 405).
 */
export function csrfPrevention(): Plugin {
  const inner = useCSRFPrevention({ requestHeaders: ["x-graphql-yoga-csrf"] });
  return {
    onRequestParse(payload) {
      const { request } = payload;
      if (request.method === "GET" && request.headers.has("authorization")) return;
      try {
        return inner.onRequestParse?.(payload);
      } catch (err) {
        if (!(err instanceof GraphQLError)) throw err;
        throw new GraphQLError(
          "Refused as a possible cross-site request: send an Authorization header, a JSON body " +
            "(content-type: application/json), or the x-graphql-yoga-csrf header",
          { extensions: { code: "CSRF_PREVENTED", http: { status: 403 } } },
        );
      }
    },
  };
}
