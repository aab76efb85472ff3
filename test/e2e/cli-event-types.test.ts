import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliRunner, json } from "../support/cli.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// `hookgate event-types ...` as a child process against a real Hookgate (PGlite and PostgreSQL).

describe("hookgate event-types", { timeout: 180_000 }, () => {
  let h: TestHookgate;
  let cli: ReturnType<typeof cliRunner>;
  let dir: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    cli = cliRunner(h.url, h.adminKey);
    dir = mkdtempSync(path.join(tmpdir(), "hookgate-cli-et-"));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await h?.stop();
  });

  it("create (schema from a file), list as a table and as JSON", async () => {
    const schema = { type: "object", required: ["invoiceId"], properties: { invoiceId: { type: "string" } } };
    writeFileSync(path.join(dir, "schema.json"), JSON.stringify(schema));
    const created = json(
      await cli([
        "event-types",
        "create",
        "--name",
        "invoice.paid",
        "--description",
        "An invoice was paid",
        "--schema",
        `@${path.join(dir, "schema.json")}`,
        "--json",
      ]),
    );
    expect(created).toMatchObject({ name: "invoice.paid", description: "An invoice was paid", schema });
    expect(created.id).toMatch(/^et_/);
    // The schema is enforced by the server: the CLI sent it as JSON, not as a string.
    const refused = await h.gql(
      `mutation { publishEvent(input: { type: "invoice.paid", payload: { nope: 1 } }) { __typename } }`,
    );
    expect(refused.data.publishEvent.__typename).toBe("ValidationError");

    const table = await cli(["event-types", "list"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(`│ ${created.id}\\s+│ invoice\\.paid\\s+│ An invoice was paid\\s+│ false`),
    );
    expect(table.stderr).toBe("");
    const listed = json(await cli(["event-types", "list", "--json"]));
    expect(listed.map((t: { name: string }) => t.name)).toEqual(["invoice.paid"]);
  });

  it("update by name or id: description, schema from stdin, --no-schema, deprecation", async () => {
    await cli(["event-types", "create", "--name", "order.created"]);
    const viaStdin = json(
      await cli(["event-types", "update", "order.created", "--schema", "-", "--json"], {
        stdin: '{"type":"object"}',
      }),
    );
    expect(viaStdin).toMatchObject({ name: "order.created", schema: { type: "object" } });
    const deprecated = json(
      await cli([
        "event-types",
        "update",
        viaStdin.id,
        "--deprecate",
        "--no-schema",
        "--description",
        "old",
        "--json",
      ]),
    );
    expect(deprecated).toMatchObject({ id: viaStdin.id, deprecated: true, schema: null, description: "old" });
    // Deprecated types are listed only when asked for.
    const visible = json(await cli(["event-types", "list", "--json"])).map((t: { name: string }) => t.name);
    expect(visible).not.toContain("order.created");
    const all = json(await cli(["event-types", "list", "--include-deprecated", "--json"]));
    expect(all.map((t: { name: string }) => t.name)).toContain("order.created");
    const back = json(await cli(["event-types", "update", "order.created", "--undeprecate", "--json"]));
    expect(back.deprecated).toBe(false);
  });

  it("typed errors and bad input are one line with a non-zero exit", async () => {
    const dup = await cli(["event-types", "create", "--name", "invoice.paid"]);
    expect(dup).toMatchObject({ code: 1, stdout: "" });
    expect(dup.stderr).toMatch(/^hookgate: CONFLICT: .*invoice\.paid.*\n$/);

    const invalid = await cli(["event-types", "create", "--name", "no dots here!"]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^hookgate: VALIDATION_FAILED: input\.name: .+\n$/);

    const badJson = await cli(["event-types", "create", "--name", "x.y", "--schema", "{nope"]);
    expect(badJson).toMatchObject({ code: 2, stdout: "" });
    expect(badJson.stderr).toMatch(/^hookgate: --schema is not JSON: .+\n$/);

    const missingFile = await cli([
      "event-types",
      "create",
      "--name",
      "x.y",
      "--schema",
      "@/nonexistent.json",
    ]);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/^hookgate: --schema: cannot read \/nonexistent\.json: /);

    const unknown = await cli(["event-types", "update", "no.such", "--deprecate"]);
    expect(unknown).toMatchObject({ code: 1, stderr: "hookgate: NOT_FOUND: no event type named no.such\n" });

    const nothing = await cli(["event-types", "update", "invoice.paid"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^hookgate: nothing to change: /);

    const both = await cli(["event-types", "update", "invoice.paid", "--deprecate", "--undeprecate"]);
    expect(both.code).toBe(2);

    // A key without the scope: the top-level FORBIDDEN error, one line.
    const made = await h.gql(
      `mutation { createApiKey(input: { name: "reader", scopes: [DELIVERIES_READ] }) { ... on CreateApiKeyPayload { key } } }`,
    );
    const forbidden = await cli(["event-types", "create", "--name", "a.b"], {
      key: made.data.createApiKey.key,
    });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^hookgate: FORBIDDEN: .+\n$/);

    // Every event-types command answers --help without a server.
    for (const sub of ["create", "list", "update"]) {
      const help = await cli(["event-types", sub, "--help"], { env: { HOOKGATE_URL: "http://127.0.0.1:1" } });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: hookgate event-types ${sub}`);
    }
  });
});
