import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// Two projects: "pglite" runs every test on the embedded database; "postgres" runs the tests
// that touch a database again on a real PostgreSQL (throwaway cluster from
// test/support/global-postgres.ts, or HOOKGATE_TEST_DATABASE_URL). `vitest run` runs both;
// `vitest run --project pglite` one. Tests get their database from test/support/db.ts.
export default defineConfig({
  resolve: {
    // graphql 16 has no "exports" map: Node (and so every externalised dependency, Yoga
    // included) loads its CommonJS build, while Vite would pick the "module" (.mjs) build for
    // our sources. Two copies of graphql break instanceof GraphQLError (errors get masked), so
    // sources must load the same build Node does.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve("graphql") }],
  },
  test: {
    pool: "forks",
    // 2 cores; every PGlite instance is a few hundred MiB too.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A leftover open handle (an unclosed PGlite, pool or server) must not hang the run silently:
    // vitest reports it and exits after this long.
    teardownTimeout: 15_000,
    projects: [
      {
        extends: true,
        test: {
          name: "pglite",
          include: ["test/**/*.test.ts"],
          // The fault suite has its own config and script (vitest.faults.config.ts, npm run test:faults).
          exclude: ["test/faults/**", "**/node_modules/**"],
          env: { HOOKGATE_TEST_DB: "pglite" },
        },
      },
      {
        extends: true,
        test: {
          name: "postgres",
          include: ["test/integration/**/*.test.ts", "test/db/**/*.test.ts", "test/e2e/**/*.test.ts"],
          // The CLI is a client of the API (tested on both databases by the integration tests): its own
          // tests run once, on PGlite, which keeps CI's run well inside its time budget.
          exclude: ["test/e2e/cli-*.test.ts", "**/node_modules/**"],
          env: { HOOKGATE_TEST_DB: "postgres" },
          globalSetup: ["test/support/global-postgres.ts"],
        },
      },
    ],
  },
});
