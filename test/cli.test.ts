import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHookgate } from "../src/app.js";
import { testConfig } from "../src/config.js";
import { startHookgateProcess } from "./support/hookgate-process.js";

// Embedded (PGlite) only: the CLI's own data directory is what is under test, so this file lives outside
// test/integration and runs once, not again on Postgres.

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, "../bin/hookgate.js");

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], dataDir: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOOKGATE_DATA_DIR: dataDir, HOOKGATE_LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  delete env.HOOKGATE_ADMIN_KEY;
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

// Each command is a process that opens (and on first use creates) a PGlite data directory: ~9 s of CPU,
// which on a loaded 2-core machine took 46 s of wall time. The bound is generous for that reason.
describe("hookgate keys create", { timeout: 180_000 }, () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "hookgate-cli-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("prints a key on stdout that then authenticates against a server on that data dir", async () => {
    const res = await cli(
      ["keys", "create", "--tenant", "root", "--scopes", "ENDPOINTS_READ", "--name", "x"],
      dataDir,
    );
    expect(res.code, res.stderr).toBe(0);
    const key = res.stdout.trim();
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(res.stderr).toMatch(/created key_\S+ for tenant ten_\S+ with ENDPOINTS_READ/);

    const hookgate = await startHookgate(
      testConfig({ dataDir, port: 0, host: "127.0.0.1", logLevel: "silent", apiRateLimitPerSecond: 0 }),
      { role: "api" },
    );
    try {
      const response = await fetch(`${hookgate.server!.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: "{ viewer { scopes tenant { name } } }" }),
      });
      const body = (await response.json()) as { data: unknown; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ viewer: { scopes: ["ENDPOINTS_READ"], tenant: { name: "root" } } });
      const row = await hookgate.app.prisma.apiKey.findFirstOrThrow({ where: { name: "x" } });
      expect(row.scopes).toEqual(["ENDPOINTS_READ"]);
    } finally {
      await hookgate.stop();
    }
  });

  it("exits 2 on an unknown scope and 1 on an unknown tenant", async () => {
    const badScope = await cli(
      ["keys", "create", "--tenant", "root", "--scopes", "ENDPOINTS_READ,BOGUS"],
      dataDir,
    );
    expect(badScope.code).toBe(2);
    expect(badScope.stdout).toBe("");
    expect(badScope.stderr).toMatch(/^hookgate: --scopes: unknown value BOGUS; expected ADMIN, /);

    const badTenant = await cli(["keys", "create", "--tenant", "ten_nope", "--scopes", "ADMIN"], dataDir);
    expect(badTenant.code).toBe(1);
    expect(badTenant.stdout).toBe("");
    expect(badTenant.stderr).toMatch(/Tenant ten_nope not found/);
  });

  it("is refused while a server owns the data dir, naming --url/--api-key; with them it goes through the API", async () => {
    const adminKey = `hk_cli_test_admin_${"x".repeat(32)}`;
    const server = await startHookgateProcess({ HOOKGATE_DATA_DIR: dataDir, HOOKGATE_ADMIN_KEY: adminKey });
    try {
      const refused = await cli(["keys", "create", "--tenant", "root", "--scopes", "ADMIN"], dataDir);
      expect(refused).toMatchObject({ code: 1, stdout: "" });
      expect(refused.stderr).toBe(
        `hookgate: ${dataDir} is in use by a running server: create the key through it with --url ${server.url} --api-key <an ADMIN key> (or HOOKGATE_URL and HOOKGATE_API_KEY)\n`,
      );
      const made = await cli(
        [
          "keys",
          "create",
          "--url",
          server.url,
          "--api-key",
          adminKey,
          "--scopes",
          "ENDPOINTS_READ",
          "--name",
          "remote",
        ],
        dataDir,
      );
      expect(made.code, made.stderr).toBe(0);
      expect(made.stderr).toMatch(/^created key_\S+ for tenant ten_\S+ with ENDPOINTS_READ\n$/);
      const viewer = await server.gql(made.stdout.trim(), "{ viewer { scopes } }");
      expect(viewer.data).toEqual({ viewer: { scopes: ["ENDPOINTS_READ"] } });
    } finally {
      await server.stop();
    }
  });
});
