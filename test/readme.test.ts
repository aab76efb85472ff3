import { readFileSync } from "node:fs";
import path from "node:path";
import { parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { configTableMarkdown, OPTIONS } from "../src/config.js";
import { schema } from "../src/graphql/index.js";

const README = readFileSync(path.resolve(import.meta.dirname, "../README.md"), "utf8");

describe("README stays true", () => {
  it("documents every option with its real default (run `npm run generate` after changing src/config.ts)", () => {
    const section = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(README)?.[1];
    expect(section).toBe(configTableMarkdown());
    for (const opt of OPTIONS) expect(section).toContain(`\`${opt.env}\``);
  });

  it("gives the two quick-start commands and the test command CI runs", () => {
    expect(README).toContain("npm ci && npm start");
    expect(README).toMatch(/^npm test\b/m);
    expect(readFileSync(path.resolve(import.meta.dirname, "../.ci/run"), "utf8")).toMatch(/^npm test$/m);
  });

  it("shows only GraphQL that is valid against the schema", () => {
    const blocks = [...README.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const block of blocks) {
      // A block may hold several operations; they are anonymous, so validate each on its own.
      // (Leading `# ...` comments say which key the tour uses; they are not operations.)
      const ops = block
        .split(/\n(?=mutation|query|subscription|\{)/)
        .filter((op) => op.replace(/^#.*$/gm, "").trim());
      for (const op of ops) {
        const errors = validate(schema, parse(op)).map((e) => e.message);
        expect(errors, op).toEqual([]);
      }
    }
  });
});
