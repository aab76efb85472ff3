import { randomBytes } from "node:crypto";
import { type Hookgate, type StartOptions, startHookgate } from "../../src/app.js";
import { type Config, testConfig } from "../../src/config.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

/**
 * A real Hookgate (HTTP server on 127.0.0.1, port 0) on a fresh migrated test database of
 * the project's kind (PGlite or PostgreSQL), with its first admin key. Tests talk to it over
 * real HTTP through `gql`. Always `await h.stop()` (afterEach/afterAll): it closes the
 * server, the dispatcher (when started) and the database.
 */
export interface TestHookgate {
  hookgate: Hookgate;
  database: TestDatabase;
  url: string;
  graphqlUrl: string;
  adminKey: string;
  config: Config;
  /** POST a GraphQL operation; returns the parsed JSON body (errors are not thrown). */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string | null,
  ): Promise<GqlResponse<T>>;
  stop(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data: T;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: string[] }[];
  headers: Headers;
}

export interface StartTestOptions {
  config?: Partial<Config>;
  role?: "api" | "dispatcher" | "all";
  /** DNS for URL checks and deliveries: tests that use host names inject one (no real DNS in tests). */
  dnsLookup?: StartOptions["dnsLookup"];
  /** A logger of the test's own (e.g. one that captures lines); default: the config's level, silent. */
  logger?: StartOptions["logger"];
}

export async function startTestHookgate(opts: StartTestOptions = {}): Promise<TestHookgate> {
  const database = await createTestDatabase();
  const config = testConfig({
    port: 0,
    host: "127.0.0.1",
    logLevel: "silent",
    encryptionKey: randomBytes(32),
    // Tests need the receivers they start on 127.0.0.1; SSRF tests override this.
    allowInsecureUrls: true,
    apiRateLimitPerSecond: 0,
    // Matrix tests send many bad keys from 127.0.0.1; the throttle has its own test.
    authFailureLimitPerMinute: 0,
    ...opts.config,
  });
  let hookgate: Hookgate;
  try {
    hookgate = await startHookgate(config, {
      db: database.db,
      role: opts.role ?? "api",
      dnsLookup: opts.dnsLookup,
      logger: opts.logger,
    });
  } catch (err) {
    await database.close();
    throw err;
  }
  // A dispatcher-only process does not bootstrap tenants or keys (the API does): it has no admin key.
  const role = opts.role ?? "api";
  const adminKey = hookgate.firstAdminKey ?? "";
  if (!adminKey && role !== "dispatcher") {
    await hookgate.stop().catch(() => {});
    await database.close();
    throw new Error("test hookgate: expected a first admin key on a fresh database");
  }
  const url = hookgate.server!.url;
  const graphqlUrl = `${url}/graphql`;
  return {
    hookgate,
    database,
    url,
    graphqlUrl,
    adminKey,
    config,
    async gql(query, variables, key = adminKey) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (key) headers.authorization = `Bearer ${key}`;
      const res = await fetch(graphqlUrl, {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data: any; errors?: GqlResponse<any>["errors"] };
      return { status: res.status, data: body.data, errors: body.errors, headers: res.headers };
    },
    async stop() {
      try {
        await hookgate.stop();
      } finally {
        await database.close();
      }
    },
  };
}

/** Throws with the GraphQL errors when a response has any; returns data. */
export function ok<T>(res: GqlResponse<T>): T {
  if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}
