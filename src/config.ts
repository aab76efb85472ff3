import path from "node:path";
import ms from "ms";

/**
 * Hookgate's whole configuration: environment variables over documented defaults,
 * read once and validated at start. A bad value stops the process with a message that
 * names the variable (see loadConfig). The README's configuration table mirrors OPTIONS.
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

export type Role = "api" | "dispatcher" | "all";

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number;
  port: number;
  host: string;
  role: Role;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  adminKey: string | undefined;
  /** 32 raw bytes, or undefined: embedded mode then keeps a key file in dataDir. */
  encryptionKey: Buffer | undefined;
  allowInsecureUrls: boolean;
  allowedCidrs: string[];
  retryScheduleMs: number[];
  retryJitter: number;
  retryAfterMaxMs: number;
  attemptTimeoutMs: number;
  leaseMs: number;
  dispatchConcurrency: number;
  endpointConcurrency: number;
  dispatchBatchSize: number;
  pollIntervalMs: number;
  maxPayloadBytes: number;
  maxResponseBytes: number;
  disableAfterMs: number;
  secretGraceMs: number;
  /** Age past which finished deliveries, their attempts and their events are removed; 0 = never. */
  retentionMs: number;
  shutdownGraceMs: number;
  maxRequestBytes: number;
  graphqlMaxDepth: number;
  graphqlMaxCost: number;
  graphqlMaxAliases: number;
  graphqlMaxTokens: number;
  introspection: boolean;
  graphiql: boolean;
  apiRateLimitPerSecond: number;
  authFailureLimitPerMinute: number;
  apiKeyCacheMs: number;
  persistedQueryCacheSize: number;
}

type Env = Record<string, string | undefined>;

interface Option<K extends keyof Config> {
  key: K;
  env: string;
  /** Default as written in the README ("" where there is none). */
  default: string;
  doc: string;
  parse: (raw: string, env: Env) => Config[K];
}

function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`expected an integer, got "${raw}"`);
    const n = Number(raw.trim());
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

/** "500ms", "5s", "5m", "2h", "5d", or a bare number of milliseconds. */
export function parseDuration(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) return Number(s);
  if (!/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/.test(s)) {
    throw new Error(`expected a duration such as 500ms, 5s, 5m, 2h or 5d, got "${raw}"`);
  }
  const value = ms(s as ms.StringValue);
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`bad duration "${raw}"`);
  return value;
}

function duration(min: number, max = 365 * 24 * 3600_000) {
  return (raw: string): number => {
    const v = parseDuration(raw);
    if (v < min || v > max) throw new Error(`must be between ${ms(min)} and ${ms(max)}, got ${raw}`);
    return v;
  };
}

function bool(raw: string): boolean {
  const s = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off", ""].includes(s)) return false;
  throw new Error(`expected 1/0, true/false, yes/no or on/off, got "${raw}"`);
}

function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!values.includes(raw as T)) throw new Error(`expected one of ${values.join(", ")}, got "${raw}"`);
    return raw as T;
  };
}

const DEFAULT_RETRY_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h";

/** Every option, in the order the README documents them. */
export const OPTIONS = [
  {
    key: "databaseUrl",
    env: "DATABASE_URL",
    default: "",
    doc: "PostgreSQL connection string (postgres://...). Unset: embedded PGlite in HOOKGATE_DATA_DIR.",
    parse: (raw) => {
      if (raw === "") return undefined;
      if (!/^postgres(ql)?:\/\//.test(raw)) throw new Error("must start with postgres:// or postgresql://");
      return raw;
    },
  },
  {
    key: "dataDir",
    env: "HOOKGATE_DATA_DIR",
    default: "./.hookgate",
    doc: "Embedded mode: where PGlite keeps its database and the generated encryption key.",
    parse: (raw) => path.resolve(raw),
  },
  {
    key: "databasePoolSize",
    env: "HOOKGATE_DATABASE_POOL_SIZE",
    default: "10",
    doc: "PostgreSQL connections per process.",
    parse: int(1, 500),
  },
  {
    key: "port",
    env: "HOOKGATE_PORT",
    default: "4000",
    doc: "HTTP port (GraphQL, SSE and graphql-ws on /graphql; /health, /ready, /metrics).",
    parse: int(0, 65535),
  },
  {
    key: "host",
    env: "HOOKGATE_HOST",
    default: "",
    doc: "Listen address. Default 127.0.0.1 in embedded mode, 0.0.0.0 with DATABASE_URL.",
    parse: (raw, env) => raw || (env.DATABASE_URL ? "0.0.0.0" : "127.0.0.1"),
  },
  {
    key: "role",
    env: "HOOKGATE_ROLE",
    default: "all",
    doc: "What this process runs: api, dispatcher or all (`hookgate serve --role` overrides).",
    parse: oneOf<Role>("api", "dispatcher", "all"),
  },
  {
    key: "logLevel",
    env: "HOOKGATE_LOG_LEVEL",
    default: "info",
    doc: "fatal, error, warn, info, debug, trace or silent. Logs are JSON lines (pino) on stdout.",
    parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"),
  },
  {
    key: "adminKey",
    env: "HOOKGATE_ADMIN_KEY",
    default: "",
    doc: "Ensures an ADMIN key with this value (32+ characters) for the root tenant. Unset: the first start prints one.",
    parse: (raw) => {
      if (raw === "") return undefined;
      if (raw.length < 32) throw new Error(`must be at least 32 characters (got ${raw.length})`);
      if (raw.length > 256) throw new Error(`must be at most 256 characters (got ${raw.length})`);
      if (!/^[\x21-\x7e]+$/.test(raw)) throw new Error("must be printable ASCII without spaces");
      return raw;
    },
  },
  {
    key: "encryptionKey",
    env: "HOOKGATE_ENCRYPTION_KEY",
    default: "",
    doc: "Base64 of 32 random bytes: encrypts signing secrets and sensitive headers at rest. Required with DATABASE_URL; embedded mode creates <data dir>/encryption.key (mode 0600).",
    parse: (raw, env) => {
      if (raw === "") {
        if (env.DATABASE_URL)
          throw new Error("is required when DATABASE_URL is set (generate one: openssl rand -base64 32)");
        return undefined;
      }
      const buf = Buffer.from(raw, "base64");
      if (buf.length !== 32 || buf.toString("base64").replace(/=+$/, "") !== raw.trim().replace(/=+$/, "")) {
        throw new Error("must be the base64 encoding of exactly 32 bytes");
      }
      return buf;
    },
  },
  {
    key: "allowInsecureUrls",
    env: "HOOKGATE_ALLOW_INSECURE_URLS",
    default: "0",
    doc: "Development only: allow http:// endpoint urls and loopback/private targets.",
    parse: bool,
  },
  {
    key: "allowedCidrs",
    env: "HOOKGATE_ALLOWED_CIDRS",
    default: "",
    doc: "Comma-separated CIDR ranges that endpoints may reach although they are not public (e.g. 10.20.0.0/16).",
    parse: (raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
  },
  {
    key: "retryScheduleMs",
    env: "HOOKGATE_RETRY_SCHEDULE",
    default: DEFAULT_RETRY_SCHEDULE,
    doc: "Delays before each retry after the first attempt (which is immediate). After the last, the delivery is FAILED.",
    parse: (raw) => {
      const parts = raw.split(",").map((s) => s.trim());
      if (parts.length === 0 || parts.some((p) => p === ""))
        throw new Error("expected a comma-separated list of durations");
      if (parts.length > 50) throw new Error("at most 50 retries");
      return parts.map(duration(0, 7 * 24 * 3600_000));
    },
  },
  {
    key: "retryJitter",
    env: "HOOKGATE_RETRY_JITTER",
    default: "0.2",
    doc: "Random spread applied to each retry delay (0.2 = ±20%).",
    parse: (raw) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0 || n > 1)
        throw new Error(`must be a number between 0 and 1, got "${raw}"`);
      return n;
    },
  },
  {
    key: "retryAfterMaxMs",
    env: "HOOKGATE_RETRY_AFTER_MAX",
    default: "1h",
    doc: "Upper bound on a receiver's Retry-After (429/503) that Hookgate honours.",
    parse: duration(0, 24 * 3600_000),
  },
  {
    key: "attemptTimeoutMs",
    env: "HOOKGATE_ATTEMPT_TIMEOUT_MS",
    default: "15000",
    doc: "Timeout of one delivery attempt (connect to last byte), in milliseconds.",
    parse: int(100, 300_000),
  },
  {
    key: "leaseMs",
    env: "HOOKGATE_LEASE_MS",
    default: "",
    doc: "How long a claimed delivery belongs to its dispatcher before another may take it. Default: attempt timeout + 30000.",
    parse: (raw, env) => {
      const timeout = env.HOOKGATE_ATTEMPT_TIMEOUT_MS ? Number(env.HOOKGATE_ATTEMPT_TIMEOUT_MS) : 15000;
      if (raw === "") return timeout + 30_000;
      const lease = int(1000, 3_600_000)(raw);
      if (Number.isFinite(timeout) && lease <= timeout) {
        throw new Error(`must be longer than HOOKGATE_ATTEMPT_TIMEOUT_MS (${timeout})`);
      }
      return lease;
    },
  },
  {
    key: "dispatchConcurrency",
    env: "HOOKGATE_DISPATCH_CONCURRENCY",
    default: "64",
    doc: "Attempts in flight at once in one dispatcher process.",
    parse: int(1, 10_000),
  },
  {
    key: "endpointConcurrency",
    env: "HOOKGATE_ENDPOINT_CONCURRENCY",
    default: "16",
    doc: "Attempts in flight at once to one endpoint, per dispatcher process.",
    parse: int(1, 1000),
  },
  {
    key: "dispatchBatchSize",
    env: "HOOKGATE_DISPATCH_BATCH_SIZE",
    default: "100",
    doc: "Deliveries claimed per database round trip.",
    parse: int(1, 1000),
  },
  {
    key: "pollIntervalMs",
    env: "HOOKGATE_POLL_INTERVAL_MS",
    default: "1000",
    doc: "Fallback poll for due deliveries (publishes and retries wake the dispatcher at once anyway).",
    parse: int(10, 60_000),
  },
  {
    key: "maxPayloadBytes",
    env: "HOOKGATE_MAX_PAYLOAD_BYTES",
    default: "262144",
    doc: "Largest event payload (serialised JSON, bytes) publishEvent accepts.",
    parse: int(1, 16 * 1024 * 1024),
  },
  {
    key: "maxResponseBytes",
    env: "HOOKGATE_MAX_RESPONSE_BYTES",
    default: "20480",
    doc: "How much of a receiver's response body is read and recorded per attempt.",
    parse: int(0, 1024 * 1024),
  },
  {
    key: "disableAfterMs",
    env: "HOOKGATE_DISABLE_AFTER",
    default: "5d",
    doc: "An endpoint failing continuously this long is disabled (reason FAILING). Any success resets the clock.",
    parse: duration(1000),
  },
  {
    key: "secretGraceMs",
    env: "HOOKGATE_SECRET_GRACE",
    default: "24h",
    doc: "Default time a rotated-out signing secret keeps signing beside the new one (per call: up to 7 days).",
    parse: duration(0, 7 * 24 * 3600_000),
  },
  {
    key: "retentionMs",
    env: "HOOKGATE_RETENTION",
    default: "30d",
    doc: "Events, deliveries and attempts older than this are removed (hourly, by dispatcher processes, in small batches); a delivery still due or in flight is never removed, nor its event. `off` (or `0`) keeps everything. At least 1h.",
    parse: (raw) => {
      const s = raw.trim().toLowerCase();
      if (s === "off" || s === "0") return 0;
      try {
        return duration(3600_000, 10 * 365 * 24 * 3600_000)(raw);
      } catch (err) {
        throw new Error(`${(err as Error).message} (or off, to keep everything)`);
      }
    },
  },
  {
    key: "shutdownGraceMs",
    env: "HOOKGATE_SHUTDOWN_GRACE_MS",
    default: "10000",
    doc: "On SIGTERM/SIGINT: how long in-flight attempts may finish before their leases are released.",
    parse: int(0, 300_000),
  },
  {
    key: "maxRequestBytes",
    env: "HOOKGATE_MAX_REQUEST_BYTES",
    default: "1048576",
    doc: "Largest GraphQL HTTP request body.",
    parse: int(1024, 64 * 1024 * 1024),
  },
  {
    key: "graphqlMaxDepth",
    env: "HOOKGATE_GRAPHQL_MAX_DEPTH",
    default: "10",
    doc: "Deepest field nesting a GraphQL operation may have.",
    parse: int(2, 100),
  },
  {
    key: "graphqlMaxCost",
    env: "HOOKGATE_GRAPHQL_MAX_COST",
    default: "20000",
    doc: "Largest estimated cost of an operation (list fields multiply by their `first`).",
    parse: int(10, 10_000_000),
  },
  {
    key: "graphqlMaxAliases",
    env: "HOOKGATE_GRAPHQL_MAX_ALIASES",
    default: "20",
    doc: "Most aliases in one operation.",
    parse: int(0, 1000),
  },
  {
    key: "graphqlMaxTokens",
    env: "HOOKGATE_GRAPHQL_MAX_TOKENS",
    default: "2000",
    doc: "Most lexical tokens in one GraphQL document.",
    parse: int(50, 1_000_000),
  },
  {
    key: "introspection",
    env: "HOOKGATE_GRAPHQL_INTROSPECTION",
    default: "1",
    doc: "Allow schema introspection (the API is public and typed; switch off if you prefer).",
    parse: bool,
  },
  {
    key: "persistedQueryCacheSize",
    env: "HOOKGATE_PERSISTED_QUERIES",
    default: "1000",
    doc: "Automatic persisted queries (APQ) kept per process, least recently used dropped first (0 = APQ off).",
    parse: int(0, 1_000_000),
  },
  {
    key: "graphiql",
    env: "HOOKGATE_GRAPHIQL",
    default: "",
    doc: "Serve GraphiQL at /graphql in browsers. Default: on in embedded mode, off with DATABASE_URL.",
    parse: (raw, env) => (raw === "" ? !env.DATABASE_URL : bool(raw)),
  },
  {
    key: "apiRateLimitPerSecond",
    env: "HOOKGATE_API_RATE_LIMIT",
    default: "1000",
    doc: "GraphQL requests per second allowed per API key, for the whole deployment (every process shares the window; 0 = unlimited).",
    parse: int(0, 1_000_000),
  },
  {
    key: "authFailureLimitPerMinute",
    env: "HOOKGATE_AUTH_FAILURE_LIMIT",
    default: "30",
    doc: "Failed API-key authentications allowed per client address per minute, per process; past it, that address's authentications are refused for the rest of the minute (0 = unlimited).",
    parse: int(0, 1_000_000),
  },
  {
    key: "apiKeyCacheMs",
    env: "HOOKGATE_API_KEY_CACHE_MS",
    default: "5000",
    doc: "How long a process may answer from its cache of API-key lookups. It bounds how long a revoked key may still be accepted by another process if the revocation's notification is lost (the revoking process refuses it at once; the others as soon as they hear). 0 = read the key on every request.",
    parse: int(0, 60_000),
  },
] as const satisfies readonly Option<keyof Config>[];

/** Reads the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const out: Partial<Record<keyof Config, unknown>> = {};
  for (const opt of OPTIONS as readonly Option<keyof Config>[]) {
    const raw = env[opt.env] ?? opt.default;
    try {
      out[opt.key] = opt.parse(raw, env);
    } catch (err) {
      throw new ConfigError(opt.env, (err as Error).message);
    }
  }
  return out as Config;
}

/**
 * Config for tests: defaults, then the given overrides (already parsed).
 * @internal test fixture (knip --production ignores @internal exports; the test suite is its caller)
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), ...overrides };
}

/** The README's configuration table (kept in sync by `npm run generate`; a test checks it). */
export function configTableMarkdown(): string {
  const rows = (OPTIONS as readonly Option<keyof Config>[]).map(
    (o) =>
      `| \`${o.env}\` | ${o.default === "" ? "—" : `\`${o.default}\``} | ${o.doc.replace(/\|/g, "\\|")} |`,
  );
  return ["| Variable | Default | Meaning |", "| --- | --- | --- |", ...rows].join("\n");
}
