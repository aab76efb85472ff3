/**
 * Scenario 7 of the fault suite, embedded (PGlite in HOOKGATE_DATA_DIR): one owner per data directory
 * (a second serve, a CLI command that would write, a second process on the same port are refused), and
 * a server SIGKILLed during a burst of publishes loses no acknowledged event after its restart.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/postgres-cluster.js";
import {
  type FaultReceiver,
  gql,
  newSecrets,
  publishMany,
  ROOT,
  settle,
  setupTenant,
  spawnHookgate,
  startFaultReceiver,
  startHookgateProcess,
  stopAll,
  until,
} from "./harness.js";

/** `hookgate <args>` to completion, bounded. */
function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["bin/hookgate.js", ...args], {
      cwd: ROOT,
      env: { ...process.env, HOOKGATE_RUNTIME: "dist", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("fault suite, embedded: one owner per data directory; SIGKILL during a burst", () => {
  let parent: string;
  let dataDir: string;
  let receiver: FaultReceiver;
  let env: Record<string, string>;
  let adminKey: string;

  beforeAll(async () => {
    parent = mkdtempSync(path.join(tmpdir(), "hookgate-faults-embedded-"));
    dataDir = path.join(parent, "data");
    receiver = await startFaultReceiver();
    const secrets = newSecrets();
    adminKey = secrets.HOOKGATE_ADMIN_KEY;
    env = { HOOKGATE_DATA_DIR: dataDir, HOOKGATE_ADMIN_KEY: adminKey };
  });

  afterAll(async () => {
    await stopAll();
    await receiver?.close();
    if (parent) rmSync(parent, { recursive: true, force: true });
  });

  it("7a. a second serve, a keys create and a second process on the same port are each refused in one line", async () => {
    const first = await startHookgateProcess("embedded-1", "all", env);
    const lock = JSON.parse(readFileSync(path.join(dataDir, "hookgate.lock"), "utf8"));
    expect(lock).toMatchObject({ pid: first.child.pid, port: first.port, command: "hookgate serve" });

    // Same data directory, another port.
    const second = spawnHookgate("embedded-2", ["serve"], env, await freePort());
    expect(await second.exited).toBe(1);
    const line = second.output().trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toBe(
      `hookgate: ${dataDir} is in use by hookgate serve (pid ${first.child.pid}, port ${first.port}): stop it first, or set HOOKGATE_DATA_DIR to another directory`,
    );

    // A CLI command that would write to the database: refused, pointing at the server's API.
    const keys = await cli(["keys", "create", "--tenant", "root", "--scopes", "ADMIN"], env);
    expect(keys.code).toBe(1);
    expect(keys.stdout).toBe("");
    expect(keys.stderr.trim()).toBe(
      `hookgate: ${dataDir} is in use by a running server: create the key through it with --url http://127.0.0.1:${first.port} --api-key <an ADMIN key> (or HOOKGATE_URL and HOOKGATE_API_KEY)`,
    );
    const migrate = await cli(["migrate"], env);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`in use by hookgate serve (pid ${first.child.pid}`);

    // Same port, another data directory: one line, nothing created.
    const otherDir = path.join(parent, "other");
    const samePort = spawnHookgate(
      "embedded-3",
      ["serve"],
      { ...env, HOOKGATE_DATA_DIR: otherDir },
      first.port,
    );
    expect(await samePort.exited).toBe(1);
    expect(samePort.output().trim()).toBe(
      `hookgate: port ${first.port} on 127.0.0.1 is already in use: stop the process that holds it, or set HOOKGATE_PORT to another port`,
    );
    expect(existsSync(otherDir)).toBe(false);

    // The owner was never disturbed, and only its own admin key exists.
    const viewer = await gql(first.url, adminKey, "{ viewer { scopes } }");
    expect(viewer.data).toEqual({ viewer: { scopes: ["ADMIN"] } });
    expect(await first.stop()).toBe(0);
    expect(existsSync(path.join(dataDir, "hookgate.lock"))).toBe(false);
  });

  it("7b. SIGKILL during a burst of publishes: after a restart (stale lock taken over) no acknowledged event is lost, and every one is delivered", async () => {
    const server = await startHookgateProcess("embedded-burst", "all", env);
    const p = ["/s7/ep0", "/s7/ep1"];
    const { tenantId } = await setupTenant(server.url, adminKey, "s7", p.map(receiver.url));
    let killedAt = 0;
    const pub = await publishMany([server.url], adminKey, tenantId, "s7.happened", 300, {
      concurrency: 8,
      onAck: (n) => {
        if (n === 100 && !killedAt) {
          killedAt = Date.now();
          void server.kill();
        }
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    // The lock of the killed process is still there: the restart must take it over.
    expect(JSON.parse(readFileSync(path.join(dataDir, "hookgate.lock"), "utf8")).pid).toBe(server.child.pid);
    const again = await startHookgateProcess("embedded-restarted", "all", env);
    // Every acknowledged event is still there.
    let missing = 0;
    for (const id of pub.acknowledged) {
      const r = await gql(again.url, adminKey, "query($id: ID!) { event(id: $id) { id } }", { id });
      if (r.data?.event?.id !== id) missing += 1;
    }
    const a = await settle("7 embedded SIGKILL during a burst", receiver, p, pub);
    console.log(
      `[faults] 7: ${pub.acknowledged.length} acknowledged before the kill, ${pub.failed} calls failed at or after it (never acknowledged), ${missing} acknowledged events missing after the restart`,
    );
    expect(missing).toBe(0);
    expect(a.lost).toBe(0);
    expect(await again.stop()).toBe(0);
    await until("lock released", () => !existsSync(path.join(dataDir, "hookgate.lock")), 10_000);
  });
});
