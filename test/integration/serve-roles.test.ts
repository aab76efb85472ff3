import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startHookgate } from "../../src/app.js";
import { testConfig } from "../../src/config.js";
import { TEST_DB } from "../support/db.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

describe(`every role is observable; a port in use is refused (${TEST_DB})`, { timeout: 120_000 }, () => {
  let h: TestHookgate | undefined;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("a dispatcher-only process serves /health, /ready and /metrics and logs what it runs", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: "info" },
      new Writable({
        write(chunk, _enc, done) {
          for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
          done();
        },
      }),
    );
    h = await startTestHookgate({ role: "dispatcher", logger });
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
    // A dispatcher claims before its LISTEN connection is up (start-up speed), so /ready may say
    // "database listener down" for its first moments: it must turn ready, and soon.
    await expect
      .poll(async () => (await fetch(`${h!.url}/ready`)).status, { timeout: 10_000, interval: 50 })
      .toBe(200);
    const ready = await fetch(`${h.url}/ready`);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    const metrics = await fetch(`${h.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("hookgate_delivery_attempts_total");
    // No GraphQL in a dispatcher; the answer says where it is.
    const gql = await fetch(`${h.url}/graphql`, { method: "POST", body: "{}" });
    expect(gql.status).toBe(404);
    expect(((await gql.json()) as { error: string }).error).toMatch(/dispatcher role.*--role api or all/);
    const started = lines.find((l) => l.msg === "Hookgate started");
    expect(started).toMatchObject({ role: "dispatcher", port: h.hookgate.server.port, database: TEST_DB });
    expect(started?.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("refuses a port in use in one line naming it and HOOKGATE_PORT, before it opens or writes anything", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
    const port = (holder.address() as net.AddressInfo).port;
    const parent = mkdtempSync(path.join(tmpdir(), "hookgate-port-"));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const dataDir = path.join(parent, "data");
    const config = testConfig({ port, host: "127.0.0.1", dataDir, logLevel: "silent" });
    const err = await startHookgate(config, { role: "all" }).then(
      () => new Error("started although the port is taken"),
      (e: unknown) => e as Error,
    );
    expect(err.name).toBe("PortInUseError");
    expect(err.message).toBe(
      `port ${port} on 127.0.0.1 is already in use: stop the process that holds it, or set HOOKGATE_PORT to another port`,
    );
    // Nothing opened or written: the embedded data directory was not even created.
    expect(existsSync(dataDir)).toBe(false);
  });
});
