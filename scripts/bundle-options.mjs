// How scripts/build.mjs bundles the CLI (src/cli/index.ts and everything it imports, dependencies included)
// into dist/bundle/ with esbuild, which bin/hookgate.js runs: one file per lazily imported part instead of
// hundreds of modules, which is most of a process's start-up (README: "How Hookgate runs"). Code splitting
// makes each dynamic import() a chunk of its own and puts modules used by several parts in shared chunks, so
// every module has one instance in the process (the API's server and the application share error classes
// and registries). test/build.test.ts and test/cli-help.test.ts read the same options.
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * Left to node_modules: packages that find files beside their own code (PGlite's WebAssembly and data
 * files; Prisma's runtime, with its query compiler and the utilities whose classes it shares), optional
 * native modules that are not installed (pg-native), and GraphiQL's self-contained page (9 MB, imported on a
 * browser's first visit only: bundled, it would double dist/ for nothing at start-up). Nothing external may
 * import a bundled package whose instances Hookgate hands it: @prisma/adapter-pg checks
 * `pool instanceof pg.Pool`, so it is bundled with pg.
 */
export const EXTERNAL = [
  "@graphql-yoga/render-graphiql",
  "@prisma/client",
  "@prisma/client/*",
  "@prisma/client-runtime-utils",
  "@electric-sql/pglite",
  "@electric-sql/pglite/*",
  "pg-native",
];

/**
 * `import.meta.url` in a bundled source keeps meaning that source's location (src/db/migrate.ts finds
 * prisma/migrations, src/version.ts package.json relative to it): every output file sits directly in
 * outDir, so the source's URL is a fixed relative path from any of them.
 */
function sourceLocation(root, outDir) {
  const src = path.join(root, "src") + path.sep;
  return {
    name: "source-import-meta-url",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(src)) return undefined;
        const text = readFileSync(args.path, "utf8");
        if (!text.includes("import.meta.url")) return undefined;
        const rel = path.relative(outDir, args.path).split(path.sep).join("/");
        return {
          contents: text.replaceAll(
            "import.meta.url",
            `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
          ),
          loader: "ts",
        };
      });
    },
  };
}

/**
 * pg (lib/stream.js) asks at load whether it runs on Cloudflare Workers: on Node 20, which has no
 * `navigator`, by constructing a `Response`, and that first touch of the global makes Node compile its own
 * built-in fetch (~50 ms of CPU at start-up, for a class Hookgate never uses). The bundle targets Node, so the
 * answer is no; the build fails if pg's code changes so that this no longer applies.
 */
function nodeOnlyPg() {
  const CHECK = "if (isCloudflareRuntime()) {";
  return {
    name: "pg-node-only",
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
        const text = readFileSync(args.path, "utf8");
        if (text.split(CHECK).length !== 2) {
          return { errors: [{ text: `pg's ${args.path} no longer has "${CHECK}" once: review nodeOnlyPg` }] };
        }
        return { contents: text.replace(CHECK, "if (false) {"), loader: "js" };
      });
    },
  };
}

/**
 * undici's index.js loads all of undici (fetch, WebSocket, cookies, caches, mocks; and the cookies make
 * Node compile its own built-in fetch), ~60 ms of CPU at start-up. Hookgate's sources use two of its values,
 * Agent and buildConnector (src/security/url-policy.ts): in the bundle, `import ... from "undici"` in a
 * source gets just the modules that define them, the same files index.js would load, so a package that
 * imports all of undici still shares their one instance. The build fails if a source imports another value.
 */
function slimUndici(root) {
  const src = path.join(root, "src") + path.sep;
  const USED = { Agent: "undici/lib/dispatcher/agent.js", buildConnector: "undici/lib/core/connect.js" };
  return {
    name: "slim-undici",
    setup(build) {
      build.onResolve({ filter: /^undici$/ }, (args) =>
        args.importer.startsWith(src) ? { path: "undici", namespace: "slim-undici" } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: "slim-undici" }, () => ({
        contents: Object.entries(USED)
          .map(([name, file]) => `export { default as ${name} } from ${JSON.stringify(file)};`)
          .join("\n"),
        resolveDir: root,
        loader: "js",
      }));
    },
  };
}

/** esbuild options that bundle root/src/cli/index.ts into outDir (outDir/cli.js and its chunks). */
export function bundleOptions(root, outDir) {
  return {
    entryPoints: { cli: path.join(root, "src/cli/index.ts") },
    outdir: outDir,
    chunkNames: "[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    // Bundled CommonJS packages (pg, pino, undici, prom-client...) call require() for Node's built-ins;
    // an ES module has no require of its own.
    banner: {
      js: 'import { createRequire as __hookgateRequire } from "node:module"; const require = __hookgateRequire(import.meta.url);',
    },
    plugins: [sourceLocation(root, outDir), nodeOnlyPg(), slimUndici(root)],
    legalComments: "none",
    logLevel: "warning",
  };
}
