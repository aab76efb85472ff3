/**
 * The README's "Using your GraphQL client" section, run as written: every ```ts block that starts
 * with `// NAME.ts` is written to a scratch directory inside node_modules (so the project's
 * packages resolve) and run with `node --import tsx` against a real server, with HOOKGATE_URL and
 * HOOKGATE_API_KEY set; `hookgate/client` is pointed at src/client/index.ts. The codegen block is
 * run against the live endpoint and its output compiled with `tsc --strict`.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { generate } from "@graphql-codegen/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertEndpoint, rootTenant } from "../integration/read-fixtures.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const README = readFileSync(path.join(ROOT, "README.md"), "utf8");
const SECTION = README.slice(
  README.indexOf("## Using your GraphQL client"),
  README.indexOf("\n## ", README.indexOf("## Using your GraphQL client") + 3),
);
const BLOCKS = new Map(
  [...SECTION.matchAll(/```ts\n\/\/ (\S+\.ts)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!] as const),
);
const CLIENT_ENTRY = pathToFileURL(path.join(ROOT, "src/client/index.ts")).href;

describe("README: Using your GraphQL client", () => {
  let h: TestHookgate;
  let dir: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    const root = await rootTenant(h);
    await insertEndpoint(h.hookgate.app, root.id);
    await insertEndpoint(h.hookgate.app, root.id);
    dir = mkdtempSync(path.join(ROOT, "node_modules/.cache-readme-"));
    // Inside node_modules the project's "type": "module" does not reach: say it again.
    writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  });
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await h?.stop();
  });

  async function runBlock(name: string): Promise<string> {
    const code = BLOCKS.get(name);
    expect(code, `README block ${name}`).toBeDefined();
    const file = path.join(dir, name);
    writeFileSync(file, code!.replaceAll('"hookgate/client"', JSON.stringify(CLIENT_ENTRY)));
    const { stdout } = await run(process.execPath, ["--import", "tsx", file], {
      cwd: dir,
      env: { ...process.env, HOOKGATE_URL: h.url, HOOKGATE_API_KEY: h.adminKey },
      timeout: 60_000,
    });
    return stdout;
  }

  it("has the blocks this test runs", () => {
    expect([...BLOCKS.keys()].sort()).toEqual(
      ["apollo.ts", "codegen.ts", "graphql-request.ts", "graphql-sse.ts", "urql.ts"].sort(),
    );
  });

  it("Apollo Client: union errors keep code and message (possibleTypes), APQ, relay pages", async () => {
    const out = await runBlock("apollo.ts");
    expect(out).toContain("__typename: 'ValidationError'");
    expect(out).toContain("code: 'VALIDATION_FAILED'");
    expect(out).toContain("2 endpoints read page by page");
  });

  it("urql with its defaults and graphcache: queries over GET, union errors with their fields", async () => {
    const out = await runBlock("urql.ts");
    expect(out).toContain("[ 'ADMIN' ]");
    expect(out).toContain("__typename: 'NotFoundError'");
    expect(out).toContain("code: 'NOT_FOUND'");
  });

  it("graphql-request: data, and a wrong key's 401 UNAUTHENTICATED", async () => {
    const out = await runBlock("graphql-request.ts");
    expect(out).toMatch(/^key_\w+$/m);
    expect(out).toContain("401 UNAUTHENTICATED");
  });

  it("graphql-sse: distinct connections and single connection mode", async () => {
    const out = await runBlock("graphql-sse.ts");
    expect(out).toMatch(/^distinct connections \{ keyId: 'key_\w+' \}$/m);
    expect(out).toMatch(/^single connection \{ keyId: 'key_\w+' \}$/m);
  });

  it("codegen against the live endpoint: types that compile under tsc --strict", async () => {
    const code = BLOCKS.get("codegen.ts")!;
    writeFileSync(path.join(dir, "codegen.ts"), code);
    writeFileSync(
      path.join(dir, "op.graphql"),
      "query Deliveries { deliveries(first: 5) { edges { node { id status createdAt event { payload } } } } }\n",
    );
    process.env.HOOKGATE_URL = h.url;
    process.env.HOOKGATE_API_KEY = h.adminKey;
    const config = (await import(pathToFileURL(path.join(dir, "codegen.ts")).href)).default;
    await generate({ ...config, documents: ["op.graphql"], cwd: dir, silent: true }, true);
    // Uses the generated types the way an app would; @ts-expect-error proves they are not `any`.
    writeFileSync(
      path.join(dir, "use.ts"),
      `import type { DeliveriesQuery } from "./src/gql/graphql";
export function firstCreatedAt(q: DeliveriesQuery): string | undefined {
  const node = q.deliveries.edges[0]?.node;
  // @ts-expect-error DateTime is a string, not a number
  const n: number = node?.createdAt;
  void n;
  return node?.createdAt;
}
`,
    );
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          skipLibCheck: true,
        },
        files: ["use.ts", "src/gql/graphql.ts", "src/gql/gql.ts", "src/gql/index.ts"],
      }),
    );
    const generated = readFileSync(path.join(dir, "src/gql/graphql.ts"), "utf8");
    // The scalar mappings took: DateTime is a string and JSON is unknown, not `any`.
    expect(generated).toContain("createdAt: string");
    expect(generated).toContain("payload: unknown");
    const tsc = path.join(ROOT, "node_modules/.bin/tsc");
    const result = await run(tsc, ["-p", path.join(dir, "tsconfig.json")]).catch((e) => e);
    expect(`${result.stdout ?? ""}${result.stderr ?? ""}`).toBe("");
  });
});
