import pino, { type Logger } from "pino";

export type { Logger };

/**
 * JSON lines on stdout. Secrets never reach the logger: API keys and signing secrets are
 * not put in log fields, and these paths are redacted as a second line of defence.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "hookgate" },
    redact: {
      paths: [
        "req.headers.authorization",
        "headers.authorization",
        "*.secret",
        "*.key",
        "secret",
        "key",
        "connectionParams.authorization",
      ],
      censor: "[REDACTED]",
    },
  });
}
