import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function serve(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ["bin/hookgate.js", "serve"], {
    cwd: ROOT,
    env: { ...process.env, HOOKGATE_PORT: "0", HOOKGATE_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe(`hookgate serve as a process (${TEST_DB})`, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("starts, prints the first admin key once, serves, and exits 0 on SIGTERM", async () => {
    const env: Record<string, string> = {};
    let database: TestDatabase | undefined;
    let dataDir: string | undefined;
    if (TEST_DB === "postgres") {
      database = await createTestDatabase();
      cleanups.push(() => database!.close());
      env.DATABASE_URL = database.url!;
      env.HOOKGATE_ENCRYPTION_KEY = randomBytes(32).toString("base64");
      env.HOOKGATE_HOST = "127.0.0.1";
    } else {
      const parent = mkdtempSync(path.join(tmpdir(), "hookgate-serve-"));
      cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
      // Not created beforehand: Hookgate makes it, and must make it private.
      dataDir = path.join(parent, "data");
      env.HOOKGATE_DATA_DIR = dataDir;
    }
    const p = serve(env);
    cleanups.push(() => {
      if (p.child.exitCode === null) p.child.kill("SIGKILL");
    });
    const url = await waitFor(
      "listening",
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+)\/graphql"/.exec(p.stdout())?.[1],
    );
    const key = /\n {4}(hk_\S+)\n/.exec(p.stderr())?.[1];
    expect(key, p.stderr()).toBeDefined();
    expect(p.stdout()).not.toContain(key!);

    // On PostgreSQL the dispatcher's LISTEN connection may still be opening: ready soon, not at once.
    await expect
      .poll(async () => (await fetch(`${url}/ready`)).status, { timeout: 10_000, interval: 50 })
      .toBe(200);
    const res = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: "{ viewer { scopes } }" }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { scopes: ["ADMIN"] } } });

    if (dataDir) {
      // Embedded mode keeps its generated encryption key private to the owner.
      expect(statSync(path.join(dataDir, "encryption.key")).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    }

    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);

    // A second start on the same database prints no new key.
    const again = serve(env);
    cleanups.push(() => {
      if (again.child.exitCode === null) again.child.kill("SIGKILL");
    });
    await waitFor("listening again", () =>
      /"msg":"Hookgate is listening"/.test(again.stdout()) ? true : undefined,
    );
    expect(again.stderr()).not.toMatch(/hk_/);
    again.child.kill("SIGINT");
    expect(await again.exited).toBe(0);
    // Two cold starts of a real process (tsx, PGlite, migrations): slow on a loaded 2-core machine.
  }, 120_000);

  it("refuses bad configuration with a message naming the variable", async () => {
    const p = serve({
      HOOKGATE_PORT: "not-a-port",
      HOOKGATE_DATA_DIR: path.join(tmpdir(), "unused-hookgate"),
    });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain('HOOKGATE_PORT: expected an integer, got "not-a-port"');
  });
});
