import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * The typed client SDK, generated from the committed schema/schema.graphql and the
 * operations in src/client/operations. `npm run generate` rewrites both; test/generated.test.ts
 * fails when either is stale.
 */
export const codegenConfig: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: ["src/client/operations/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    // Typed document nodes and every operation's result/variable types.
    "src/client/generated/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        emitLegacyCommonJSImports: false,
        scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
      },
    },
    // What normalising caches need to match fragments on unions and interfaces (`... on Error`):
    // Apollo Client's `possibleTypes`, and the minified schema urql graphcache takes.
    "src/client/generated/possible-types.ts": {
      plugins: ["fragment-matcher"],
      config: { apolloClientVersion: 3, useExplicitTyping: true },
    },
    "src/client/generated/introspection.ts": {
      plugins: ["urql-introspection"],
      config: { module: "es2015" },
    },
    // An SDK object with one method per operation, over any requester (see src/client/index.ts).
    "src/client/generated/sdk.ts": {
      plugins: ["typescript-generic-sdk"],
      config: {
        documentMode: "external",
        importDocumentNodeExternallyFrom: "./graphql.js",
        importOperationTypesFrom: "Operations",
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
      },
    },
  },
};

export default codegenConfig;
