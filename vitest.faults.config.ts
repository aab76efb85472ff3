import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`): real Hookgate child processes on a real, durable PostgreSQL
// and on embedded data directories, with faults injected. Files run one at a time (each starts several
// processes on a 2-core machine); not part of `npm test`. See test/faults/harness.ts.
export default defineConfig({
  resolve: {
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve("graphql") }],
  },
  test: {
    include: ["test/faults/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    teardownTimeout: 30_000,
    globalSetup: ["test/faults/global-setup.ts"],
  },
});
