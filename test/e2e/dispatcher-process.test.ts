/**
 * `hookgate serve --role dispatcher` as a real process on PostgreSQL, the way the benchmark and a scaled
 * deployment run it: the CLI opens its database connection while the application loads (src/cli/serve.ts),
 * and the process runs the build's bundle when it is current (bin/hookgate.js). It delivers what an API
 * process published, and stops gracefully on SIGTERM. PostgreSQL only (an embedded data directory has one
 * process).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../../scripts/postgres-cluster.js";
import { TEST_DB } from "../support/db.js";
import { type HookgateProcess, startHookgateProcess } from "../support/hookgate-process.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ADMIN_KEY = `admin-${randomBytes(24).toString("hex")}`;
const ENCRYPTION_KEY = randomBytes(32).toString("base64");
const EVENTS = 3;

describe.skipIf(TEST_DB !== "postgres")("a dispatcher-only process", { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let api: HookgateProcess | undefined;
  const env = () => ({
    DATABASE_URL: cluster.adminUrl,
    HOOKGATE_ENCRYPTION_KEY: ENCRYPTION_KEY,
    HOOKGATE_ADMIN_KEY: ADMIN_KEY,
    HOOKGATE_ALLOW_INSECURE_URLS: "1",
  });

  beforeAll(async () => {
    cluster = await startTestCluster({ prefix: "hookgate-dispatcher-" });
  }, 120_000);
  afterAll(async () => {
    await api?.stop(5_000);
    await cluster?.stop();
  });

  it("delivers what is due and stops gracefully on SIGTERM", async () => {
    const received: string[] = [];
    const receiver = createServer((req, res) => {
      received.push(String(req.headers["webhook-id"]));
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      // The API alone: nothing is delivered until the dispatcher runs.
      api = await startHookgateProcess(env(), { role: "api" });
      const et = await api.gql(
        ADMIN_KEY,
        `mutation { createEventType(input: { name: "d.one" }) { __typename } }`,
      );
      expect(et.data?.createEventType.__typename, JSON.stringify(et)).toBe("CreateEventTypePayload");
      const ep = await api.gql(
        ADMIN_KEY,
        "mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { __typename } }",
        { i: { url: receiverUrl, events: ["d.one"] } },
      );
      expect(ep.data?.createEndpoint.__typename, JSON.stringify(ep)).toBe("CreateEndpointPayload");
      const ids: string[] = [];
      for (let i = 0; i < EVENTS; i++) {
        const res = await api.gql(
          ADMIN_KEY,
          `mutation($i: PublishEventInput!) { publishEvent(input: $i) {
             __typename ... on PublishEventPayload { event { id } } } }`,
          { i: { type: "d.one", payload: { i } } },
        );
        ids.push(res.data.publishEvent.event.id);
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(received).toEqual([]);

      const child = spawn(process.execPath, ["bin/hookgate.js", "serve", "--role", "dispatcher"], {
        cwd: ROOT,
        env: { ...process.env, ...env(), HOOKGATE_PORT: "0", HOOKGATE_HOST: "127.0.0.1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        const deadline = Date.now() + 120_000;
        while (received.length < EVENTS && child.exitCode === null && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        expect([...received].sort(), stderr).toEqual([...ids].sort());
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited, stderr).toBe(0);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
