import { GraphQLError } from "graphql";
import type { GraphQLParams, Plugin } from "graphql-yoga";

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_REQUEST", http: { status: 400 } } });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses JSON POST bodies like Yoga does, except that bytes which are not UTF-8 are refused
 * (400) instead of being silently replaced by U+FFFD and stored, and the parser's message
 * (which quotes the body) is not echoed back.
 */
export const strictJsonBody: Plugin = {
  onRequestParse({ request, setRequestParser }) {
    if (request.method !== "POST") return;
    const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json" && type !== "application/graphql+json") return;
    setRequestParser(async (req) => {
      let text: string;
      try {
        text = strictUtf8.decode(await req.arrayBuffer());
      } catch {
        throw badRequest("POST body is not valid UTF-8.");
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest("POST body sent invalid JSON.");
      }
      if (body === null || typeof body !== "object") {
        throw badRequest(
          `POST body is expected to be object but received ${body === null ? "null" : typeof body}`,
        );
      }
      return body as GraphQLParams;
    });
  },
};
