import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { configTableMarkdown, OPTIONS } from "../src/config.js";
import { runCli } from "./support/cli.js";

// `hookgate config`: the values in effect and their sources, secrets masked (no server, no database).

/** The runner's environment without any Hookgate setting, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k !== "DATABASE_URL" && !k.startsWith("HOOKGATE_") && k !== "FORCE_COLOR",
    ),
  );
  return { ...clean, NO_COLOR: "1", ...extra };
}

describe("hookgate config", { timeout: 60_000 }, () => {
  it("shows each value in effect with its source, and never a secret", async () => {
    const adminKey = `admin-${randomBytes(24).toString("hex")}`;
    const encryptionKey = randomBytes(32).toString("base64");
    const res = await runCli(
      ["config", "--json"],
      env({
        DATABASE_URL: "postgres://hook:s3cret-pw@db.internal:5432/hookgate",
        HOOKGATE_ADMIN_KEY: adminKey,
        HOOKGATE_ENCRYPTION_KEY: encryptionKey,
        HOOKGATE_ATTEMPT_TIMEOUT_MS: "20000",
      }),
    );
    expect(res.code, res.stderr).toBe(0);
    for (const secret of ["s3cret-pw", adminKey, encryptionKey]) expect(res.stdout).not.toContain(secret);
    const rows = JSON.parse(res.stdout) as { variable: string; value: string; source: string }[];
    expect(rows.map((r) => r.variable)).toEqual(OPTIONS.map((o) => o.env));
    const by = Object.fromEntries(rows.map((r) => [r.variable, r]));
    expect(by.DATABASE_URL).toEqual({
      variable: "DATABASE_URL",
      value: "postgres://hook:********@db.internal:5432/hookgate",
      source: "environment",
    });
    expect(by.HOOKGATE_ADMIN_KEY).toMatchObject({
      value: expect.stringMatching(/^\*+ \(set/),
      source: "environment",
    });
    expect(by.HOOKGATE_ENCRYPTION_KEY).toMatchObject({
      value: expect.stringMatching(/^\*+ \(set/),
      source: "environment",
    });
    expect(by.HOOKGATE_PORT).toMatchObject({ value: "4000", source: "default" });
    // Derived from other settings: the host from DATABASE_URL, the lease from the attempt timeout.
    expect(by.HOOKGATE_HOST).toMatchObject({ value: "0.0.0.0", source: "derived" });
    expect(by.HOOKGATE_LEASE_MS).toMatchObject({ value: "50000", source: "derived" });
    expect(by.HOOKGATE_ATTEMPT_TIMEOUT_MS).toMatchObject({ value: "20000", source: "environment" });

    const table = await runCli(["config"], env());
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ HOOKGATE_HOST\s+│ 127\.0\.0\.1\s+│ derived\s+│/);
    expect(table.stdout).toMatch(/│ HOOKGATE_RETRY_SCHEDULE\s+│ 5s,5m,30m,2h,5h,10h,10h\s+│ default\s+│/);
  });

  it("reports every bad value in place and exits 1 naming the variables", async () => {
    const res = await runCli(["config"], env({ HOOKGATE_PORT: "eighty", HOOKGATE_RETENTION: "5m" }));
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /│ HOOKGATE_PORT\s+│ eighty \(invalid: expected an integer, got "eighty"\)\s+│ environment\s+│/,
    );
    expect(res.stderr).toMatch(
      /^hookgate: invalid configuration: HOOKGATE_PORT: .+; HOOKGATE_RETENTION: .+\n$/,
    );
  });

  it("--markdown prints the README's documentation table", async () => {
    const res = await runCli(["config", "--markdown"], env({ HOOKGATE_PORT: "1234" }));
    expect(res).toMatchObject({ code: 0, stdout: `${configTableMarkdown()}\n` });
  });
});
