/**
 * Custom headers an endpoint sends with every delivery (e.g. an Authorization header for the receiver).
 * Names that Hookgate sets itself or that steer the HTTP connection are reserved so a tenant cannot forge a
 * signature header, smuggle a second request (Content-Length / Transfer-Encoding / CRLF) or retarget Host.
 */

export interface CustomHeader {
  name: string;
  value: string;
}

export interface HeaderIssue {
  path: string;
  message: string;
}

export const MAX_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 64;
export const MAX_HEADER_VALUE_LENGTH = 4096;
export const REDACTED = "[REDACTED]";

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const RESERVED_NAMES = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "host",
  "user-agent",
  "connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "keep-alive",
  "expect",
]);
const RESERVED_PREFIXES = ["webhook-", "hookgate-", "proxy-"];

export function isReservedHeader(name: string): boolean {
  const n = name.toLowerCase();
  return RESERVED_NAMES.has(n) || RESERVED_PREFIXES.some((p) => n.startsWith(p));
}

/** Every problem found, each with a path such as `headers.2.name`; an empty list means valid. */
export function validateCustomHeaders(headers: CustomHeader[]): HeaderIssue[] {
  const issues: HeaderIssue[] = [];
  if (!Array.isArray(headers)) return [{ path: "headers", message: "Headers must be a list." }];
  if (headers.length > MAX_HEADERS) {
    issues.push({ path: "headers", message: `At most ${MAX_HEADERS} custom headers are allowed.` });
  }
  const seen = new Set<string>();
  headers.forEach((header, i) => {
    const name: unknown = header?.name;
    const value: unknown = header?.value;
    const namePath = `headers.${i}.name`;
    const valuePath = `headers.${i}.value`;

    if (typeof name !== "string" || name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH) {
      issues.push({
        path: namePath,
        message: `A header name must be 1 to ${MAX_HEADER_NAME_LENGTH} characters.`,
      });
    } else if (!TOKEN.test(name)) {
      issues.push({
        path: namePath,
        message: "A header name may contain only letters, digits and !#$%&'*+-.^_`|~ (no spaces or colons).",
      });
    } else if (isReservedHeader(name)) {
      issues.push({
        path: namePath,
        message: `The header ${name} is set by Hookgate and cannot be overridden.`,
      });
    } else {
      const key = name.toLowerCase();
      if (seen.has(key))
        issues.push({ path: namePath, message: `The header ${name} appears more than once.` });
      seen.add(key);
    }

    if (typeof value !== "string") {
      issues.push({ path: valuePath, message: "A header value must be a string." });
    } else if (value.length > MAX_HEADER_VALUE_LENGTH) {
      issues.push({
        path: valuePath,
        message: `A header value must be at most ${MAX_HEADER_VALUE_LENGTH} characters.`,
      });
    } else if (/[\r\n\0]/.test(value)) {
      issues.push({
        path: valuePath,
        message: "A header value must not contain line breaks or NUL characters.",
      });
    } else if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
      // What Node's HTTP stack would refuse at send time; better to say so when the endpoint is saved.
      issues.push({
        path: valuePath,
        message: "A header value contains characters that cannot be sent in HTTP.",
      });
    }
  });
  return issues;
}

const SENSITIVE_NAMES = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
const SENSITIVE_PARTS = [
  "token",
  "secret",
  "key",
  "password",
  "passwd",
  "auth",
  "signature",
  "cookie",
  "credential",
  "session",
];

/** Errs on the side of hiding: redacting a harmless value costs nothing, leaking a credential does. */
export function isSensitiveHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SENSITIVE_NAMES.has(n) || SENSITIVE_PARTS.some((p) => n.includes(p));
}
