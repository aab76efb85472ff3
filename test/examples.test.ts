import { type ChildProcess, execFile, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAST, until } from "./integration/delivery-fixtures.js";
import { startTestHookgate, type TestHookgate } from "./support/hookgate.js";

// examples/ run as a user runs them (node examples/x.mjs, importing hookgate/client and hookgate/verify by
// package name, which resolves to this package's compiled dist/): the platform script creates a tenant and
// an endpoint and publishes through the SDK, each receiver gets the delivery and verifies it. Embedded
// only, once.

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
const SECRET = "examples-secret-0123456789";

interface Receiver {
  child: ChildProcess;
  lines: string[];
  url: string;
}

async function startReceiver(file: string): Promise<Receiver> {
  const child = spawn(process.execPath, [file], {
    cwd: ROOT,
    env: { ...process.env, WEBHOOK_SECRET: SECRET, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
  const listening = await until(() => lines.find((l) => l.startsWith("listening on ")), 60_000);
  return { child, lines, url: listening.slice("listening on ".length) };
}

describe("examples", { timeout: 300_000 }, () => {
  let h: TestHookgate;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    // The build the examples import must be current (npm ci made it; a test run after edits refreshes it).
    await run(process.execPath, ["scripts/build.mjs", "--quiet"], { cwd: ROOT, timeout: 240_000 });
    h = await startTestHookgate({ role: "all", config: FAST });
  }, 300_000);
  afterAll(async () => {
    for (const r of receivers) r.child.kill();
    await h?.stop();
  });

  it.each(["examples/receiver-node-http.mjs", "examples/receiver-express.mjs"])(
    "platform.mjs publishes through the SDK and %s verifies the delivery",
    async (file) => {
      const receiver = await startReceiver(file);
      receivers.push(receiver);
      const { stdout } = await run(process.execPath, ["examples/platform.mjs"], {
        cwd: ROOT,
        env: {
          ...process.env,
          HOOKGATE_URL: h.url,
          HOOKGATE_API_KEY: h.adminKey,
          RECEIVER_URL: receiver.url,
          WEBHOOK_SECRET: SECRET,
        },
        timeout: 120_000,
      });
      const out = stdout.trim().split("\n");
      expect(out[0]).toMatch(/^tenant ten_\S+$/);
      expect(out[1]).toMatch(/^endpoint ep_\S+$/);
      const eventId = /^published (evt_\S+) to 1 endpoint\(s\)$/.exec(out[2]!)?.[1];
      expect(eventId, stdout).toBeDefined();
      expect(out.at(-1), stdout).toMatch(/^delivery dlv_\S+ SUCCEEDED/);
      const line = await until(() => receiver.lines.find((l) => l.startsWith("verified ")), 30_000);
      const [, id, type, data] = /^verified (\S+) (\S+) (.*)$/.exec(line)!;
      expect([id, type, JSON.parse(data!)]).toEqual([
        eventId,
        "invoice.paid",
        { invoiceId: "in_42", amount: 1200 },
      ]);

      // A forged request is refused by the receiver, with the reason.
      const forged = await fetch(receiver.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": "evt_forged",
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        },
        body: '{"id":"evt_forged","type":"invoice.paid","data":{}}',
      });
      expect(forged.status).toBe(400);
      expect(await until(() => receiver.lines.find((l) => l.startsWith("refused ")))).toBe(
        "refused INVALID_SIGNATURE",
      );
    },
  );
});
