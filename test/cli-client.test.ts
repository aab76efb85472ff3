import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveUpdates } from "../src/domain/live.js";
import {
  createEndpoint,
  createEventType,
  FAST,
  type Receiver,
  startReceiver,
  until,
} from "./integration/delivery-fixtures.js";
import { untilSubscribed } from "./integration/live-fixtures.js";
import { startTestHookgate, type TestHookgate } from "./support/hookgate.js";

// The CLI's client commands against a real running Hookgate (in-process, on a port), run as a user runs
// them: bin/hookgate.js with HOOKGATE_URL / HOOKGATE_API_KEY. Embedded only, once.

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, "../bin/hookgate.js");

describe("hookgate client commands", { timeout: 180_000 }, () => {
  let h: TestHookgate;
  let receiver: Receiver;

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: FAST });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.stop();
  });

  // Plain output whatever the runner's terminal: CI may export FORCE_COLOR, which picocolors honours.
  const env = (key = h.adminKey) => {
    const { FORCE_COLOR: _, ...rest } = process.env;
    return { ...rest, NO_COLOR: "1", HOOKGATE_URL: h.url, HOOKGATE_API_KEY: key };
  };
  async function cli(
    args: string[],
    key?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
        env: env(key),
        timeout: 120_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === "number" ? e.code : -1,
        stdout: e.stdout ?? "",
        stderr: e.stderr ?? "",
      };
    }
  }

  it("tenants create and list, as a table and as JSON", async () => {
    const created = await cli(["tenants", "create", "--name", "Acme CLI", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const tenant = JSON.parse(created.stdout);
    expect(tenant).toMatchObject({ name: "Acme CLI", id: expect.stringMatching(/^ten_/) });
    const table = await cli(["tenants", "list"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`│ ${tenant.id}\\s+│ Acme CLI\\s+│`));
    const json = JSON.parse((await cli(["tenants", "list", "--json"])).stdout);
    expect(json.map((t: { id: string }) => t.id)).toContain(tenant.id);
    // Paged like every listing: --limit stops early and says how many there are.
    const one = await cli(["tenants", "list", "--limit", "1", "--json"]);
    expect(JSON.parse(one.stdout)).toHaveLength(1);
    const oneTable = await cli(["tenants", "list", "--limit", "1"]);
    expect(oneTable.stderr).toBe(`showing 1 of ${json.length} tenants (--limit <n> or --all for more)\n`);
    // A list with nothing in it says so (the new tenant has no endpoints yet).
    const empty = await cli(["endpoints", "list", "--tenant", tenant.id]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(/│ id\s.*\n.*\n│ \(none\)\s+│\n/s);
    expect(JSON.parse((await cli(["endpoints", "list", "--tenant", tenant.id, "--json"])).stdout)).toEqual(
      [],
    );
  });

  it("keys list (never the key) and keys revoke", async () => {
    const made = await h.gql<any>(
      `mutation { createApiKey(input: { name: "cli-victim", scopes: [EVENTS_PUBLISH] }) { ... on CreateApiKeyPayload { key apiKey { id } } } }`,
    );
    const { key, apiKey } = made.data.createApiKey;
    const list = await cli(["keys", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain(key);
    expect(list.stdout).not.toContain(h.adminKey);
    expect(JSON.parse(list.stdout).map((k: { name: string }) => k.name)).toContain("cli-victim");
    const revoked = await cli(["keys", "revoke", apiKey.id, "--json"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout).revokedAt).not.toBeNull();
    const onlyRevoked = JSON.parse((await cli(["keys", "list", "--revoked", "--json"])).stdout);
    expect(onlyRevoked.map((k: { id: string }) => k.id)).toEqual([apiKey.id]);
    const missing = await cli(["keys", "revoke", "key_nope"]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe("hookgate: NOT_FOUND: ApiKey key_nope not found\n");
  });

  it("errors are one line with a non-zero exit", async () => {
    const wrong = await cli(["tenants", "list"], "hk_wrong");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^hookgate: UNAUTHENTICATED: .+\n$/);
    const none = await cli(["tenants", "list"], "");
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("hookgate: no API key: pass --api-key or set HOOKGATE_API_KEY\n");
  });

  it("events publish reads --data from a file, stdin or inline; bad JSON and typed errors are one line", async () => {
    await createEventType(h, "cli.publish");
    const dir = mkdtempSync(path.join(tmpdir(), "hookgate-cli-data-"));
    try {
      writeFileSync(path.join(dir, "data.json"), '{"from":"file"}');
      const fromFile = await cli([
        "events",
        "publish",
        "--type",
        "cli.publish",
        "--data",
        `@${path.join(dir, "data.json")}`,
        "--json",
      ]);
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(JSON.parse(fromFile.stdout).event.payload).toEqual({ from: "file" });
      const fromStdin = await new Promise<string>((resolve, reject) => {
        const child = execFile(
          process.execPath,
          [BIN, "events", "publish", "--type", "cli.publish", "--data", "-", "--json"],
          { env: env() },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
        child.stdin!.end('{"from":"stdin"}');
      });
      expect(JSON.parse(fromStdin).event.payload).toEqual({ from: "stdin" });
      const table = await cli(["events", "publish", "--type", "cli.publish", "--data", '{"n":1}']);
      expect(table.stdout).toMatch(/│ evt_\S+\s+│ cli\.publish\s+│ 0\s+│/);
      const bad = await cli(["events", "publish", "--type", "cli.publish", "--data", "{nope"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^hookgate: --data is not JSON: .+\n$/);
      const unknown = await cli(["events", "publish", "--type", "no.such.type", "--data", "{}"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr.split("\n")).toHaveLength(2);
      expect(unknown.stderr).toMatch(/^hookgate: VALIDATION_FAILED: input\.type: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tail prints one line per delivery update until interrupted", async () => {
    await createEventType(h, "cli.tail");
    const endpoint = await createEndpoint(h, receiver.url, { events: ["cli.*"] });
    const child = spawn(process.execPath, [BIN, "tail", "--endpoint", endpoint.id], {
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    readline.createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await untilSubscribed(liveUpdates(h.hookgate.app.db), 1, 120_000);
      const published = await h.gql<any>(
        `mutation { publishEvent(input: { type: "cli.tail", payload: { n: 1 } }) { ... on PublishEventPayload { deliveryCount } } }`,
      );
      expect(published.data.publishEvent.deliveryCount).toBe(1);
      const done = await until(
        () => lines.find((l) => /SUCCEEDED/.test(l)),
        60_000,
        () => lines.join("\n"),
      );
      expect(done).toMatch(
        new RegExp(`^\\S+Z SUCCEEDED dlv_\\S+ cli\\.tail -> ${endpoint.id} #1 200 \\d+ms$`),
      );
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    const bad = await cli(["tail", "--status", "DONE"]);
    expect(bad).toMatchObject({
      code: 2,
      stderr:
        "hookgate: --status: unknown value DONE; expected PENDING, SENDING, SUCCEEDED, RETRYING, FAILED, CANCELLED\n",
    });
  });
});
