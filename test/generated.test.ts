import { readFileSync } from "node:fs";
import path from "node:path";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import { codegenConfig } from "../codegen.js";
import { printHookgateSchema } from "../src/graphql/index.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const FIX = "run `npm run generate` and commit the result";

// Committed generated artefacts must match what the code produces today.
describe("generated artefacts are fresh", () => {
  it("schema/schema.graphql matches the Pothos schema", () => {
    const committed = readFileSync(path.join(ROOT, "schema/schema.graphql"), "utf8");
    expect(committed, `schema/schema.graphql is stale: ${FIX}`).toBe(printHookgateSchema());
  });

  it("the client SDK matches schema/schema.graphql and src/client/operations", async () => {
    const outputs = (await generate({ ...codegenConfig, cwd: ROOT, silent: true }, false)) as {
      filename: string;
      content: string;
    }[];
    expect(outputs.length).toBeGreaterThan(0);
    for (const out of outputs) {
      const file = path.resolve(ROOT, out.filename);
      const committed = readFileSync(file, "utf8");
      expect(committed, `${path.relative(ROOT, file)} is stale: ${FIX}`).toBe(out.content);
    }
  });
});
