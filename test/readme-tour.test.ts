import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { liveUpdates } from "../src/domain/live.js";
import { checkEndpointUrl } from "../src/security/url-policy.js";
import { FAST, until } from "./integration/delivery-fixtures.js";
import { untilSubscribed } from "./integration/live-fixtures.js";
import { zoneLookup } from "./support/dns.js";
import { startTestHookgate, type TestHookgate } from "./support/hookgate.js";

// The README's tour, executed: every ```graphql block in order, pasted into the README's own gql() shell
// helper (bash, node, curl) against a fresh Hookgate, with the key the block's leading comment names; the
// subscription block over graphql-ws; the "Try it locally" part with examples/receiver-node-http.mjs.
// Ids the README writes as `ten_...`/`ep_...` are the ones earlier blocks returned, as a reader would paste.
// Embedded only, once (it is about the README, not the database).

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
const README = readFileSync(path.join(ROOT, "README.md"), "utf8");
const tour = README.slice(
  README.indexOf("## A short tour of the API"),
  README.indexOf("### The SDK in five lines"),
);
const shBlocks = [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
const helper = shBlocks.find((b) => b.includes("gql()"))!;
const blocks = [...tour.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** The helper as printed, minus the line where a reader puts their own URL and key. */
const helperScript = helper
  .split("\n")
  .filter((l) => !l.startsWith("export "))
  .join("\n");

describe("README tour", { timeout: 300_000 }, () => {
  let h: TestHookgate;
  let receiver: ChildProcess | undefined;
  const received: string[] = [];
  const ids: Record<string, string> = {};
  let acmeKey = "";

  beforeAll(async () => {
    // No real DNS: acme.example does not resolve, as on a reader's machine.
    h = await startTestHookgate({ role: "all", config: FAST, dnsLookup: zoneLookup({}) });
  });
  afterAll(async () => {
    receiver?.kill();
    await h?.stop();
  });

  async function gql(block: string, key: string): Promise<any> {
    const { stdout } = await run("bash", ["-c", `${helperScript}\ngql "$BLOCK"`], {
      env: { ...process.env, HOOKGATE: h.graphqlUrl, KEY: key, BLOCK: block },
      timeout: 60_000,
    });
    return JSON.parse(stdout);
  }

  function fill(block: string): string {
    return block
      .replaceAll('"ten_..."', JSON.stringify(ids.tenant ?? "ten_..."))
      .replaceAll('"ep_..."', JSON.stringify(ids.endpoint ?? "ep_..."))
      .replaceAll("127.0.0.1:3000", `127.0.0.1:${ids.receiverPort}`);
  }

  async function startReceiver(): Promise<void> {
    const local = shBlocks.find((b) => b.includes("examples/receiver-node-http.mjs"))!;
    expect(local).toContain("HOOKGATE_ALLOW_INSECURE_URLS=1");
    const secret = /WEBHOOK_SECRET=(\S+)/.exec(local)![1]!;
    receiver = spawn(process.execPath, ["examples/receiver-node-http.mjs"], {
      cwd: ROOT,
      env: { ...process.env, WEBHOOK_SECRET: secret, PORT: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    readline.createInterface({ input: receiver.stdout! }).on("line", (l) => received.push(l));
    const listening = await until(() => received.find((l) => l.startsWith("listening on")), 60_000);
    ids.receiverPort = /:(\d+)\//.exec(listening)![1]!;
  }

  it("the development setting the local part needs is named by the refusal without it", () => {
    const refused = checkEndpointUrl("http://127.0.0.1:3000/webhooks", {
      allowInsecure: false,
      allowedCidrs: [],
    });
    expect(refused).toMatchObject({ ok: false });
    expect((refused as { message: string }).message).toContain("HOOKGATE_ALLOW_INSECURE_URLS=1");
  });

  it("runs every block, in order, through the README's gql() helper", async () => {
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    for (const raw of blocks) {
      const comment = /^# (.*)\n/.exec(raw)?.[1] ?? "";
      expect(
        raw
          .replace(/^#.*\n/, "")
          .trim()
          .match(/^(mutation|query|subscription|\{)/gm),
        raw,
      ).toHaveLength(1);
      if (comment.includes("locally") && !receiver) await startReceiver();
      const block = fill(raw);
      if (comment.startsWith("subscription")) {
        await runSubscription(block);
        continue;
      }
      const key = comment.startsWith("as Acme") ? acmeKey : h.adminKey;
      const res = await gql(block, key);
      expect(res.errors, `${block}\n${JSON.stringify(res)}`).toBeUndefined();
      const [field, value] = Object.entries(res.data as Record<string, any>)[0]!;
      // Every mutation selects its error branch; in the tour none is taken.
      expect(value.code ?? value.fieldErrors, `${field}: ${JSON.stringify(value)}`).toBeUndefined();
      if (field === "createTenant") ids.tenant = value.tenant.id;
      if (field === "createApiKey") {
        acmeKey = value.key;
        expect(value.apiKey.scopes).toEqual([
          "ENDPOINTS_READ",
          "ENDPOINTS_WRITE",
          "DELIVERIES_READ",
          "DELIVERIES_WRITE",
        ]);
      }
      if (field === "createEndpoint" && !comment.includes("locally")) ids.endpoint = value.endpoint.id;
      if (field === "publishEvent") expect(value.deliveryCount).toBeGreaterThanOrEqual(1);
      if (field === "endpoints") expect(value.totalCount).toBe(1);
      if (field === "deliveries") expect(value.totalCount).toBe(1);
    }
    // The local receiver got the second event, verified.
    const line = await until(() => received.find((l) => l.startsWith("verified ")), 60_000);
    const [, eventId, type, data] = /^verified (\S+) (\S+) (.*)$/.exec(line)!;
    expect(eventId).toMatch(/^evt_/);
    expect(type).toBe("invoice.paid");
    expect(JSON.parse(data!)).toEqual({ invoiceId: "in_43", amount: 900 });
    expect(received.filter((l) => l.startsWith("refused"))).toEqual([]);
  });

  /** The subscription block over graphql-ws with Acme's key; an endpoint test makes an update. */
  async function runSubscription(block: string): Promise<void> {
    const client = createClient({
      url: h.graphqlUrl.replace(/^http/, "ws"),
      connectionParams: { authorization: `Bearer ${acmeKey}` },
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      const updates = client.iterate<any>({ query: block });
      const first = updates.next();
      await untilSubscribed(liveUpdates(h.hookgate.app.db), 1, 60_000);
      const test = await h.gql(
        `mutation ($id: ID!) { testEndpoint(id: $id, eventType: "invoice.paid") { __typename } }`,
        { id: ids.endpoint },
      );
      expect(test.data).toEqual({ testEndpoint: { __typename: "TestEndpointPayload" } });
      const { value } = await first;
      expect(value.errors).toBeUndefined();
      expect(value.data.deliveryUpdated.delivery.id).toMatch(/^dlv_/);
      await updates.return?.();
    } finally {
      await client.dispose();
    }
  }
});
