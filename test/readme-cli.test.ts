import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Signer } from "../src/signing/index.js";
import { FAST, until } from "./integration/delivery-fixtures.js";
import { BIN, type CliResult, cliEnv } from "./support/cli.js";
import { zoneLookup } from "./support/dns.js";
import { startTestHookgate, type TestHookgate } from "./support/hookgate.js";

// The README's CLI tour, executed: every command line of its ```sh block, in order, through bash with
// `hookgate` as the built CLI, against a fresh Hookgate. Ids the README writes as `ten_...`, `ep_...`,
// `dlv_...` are the ones earlier lines printed, as a reader would paste them; the files a line names
// (a schema, a saved request) are made in the working directory first. Embedded only, once.

const README = readFileSync(path.resolve(import.meta.dirname, "../README.md"), "utf8");
const section = README.slice(README.indexOf("### The CLI\n"), README.indexOf("### Delivery semantics"));
const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const lines = block.split("\n").filter((l) => l.trim() && !l.startsWith("export ") && !l.startsWith("#"));
const WEBHOOK_SECRET = "readme-cli-secret-0123456789";

describe("README CLI tour", { timeout: 300_000 }, () => {
  let h: TestHookgate;
  let dir: string;

  beforeAll(async () => {
    // No real DNS: acme.example does not resolve, as on a reader's machine; its delivery fails and retries.
    h = await startTestHookgate({ role: "all", config: FAST, dnsLookup: zoneLookup({}) });
    dir = mkdtempSync(path.join(tmpdir(), "hookgate-readme-cli-"));
    writeFileSync(
      path.join(dir, "invoice-paid.schema.json"),
      JSON.stringify({
        type: "object",
        required: ["invoiceId"],
        properties: { invoiceId: { type: "string" } },
      }),
    );
    // A request as a receiver would have saved it.
    const body = '{"id":"evt_1","type":"invoice.paid","timestamp":"2026-12-06T18:00:00Z","data":{}}';
    const headers = new Signer([WEBHOOK_SECRET]).headers(
      "evt_1",
      Math.floor(Date.now() / 1000),
      Buffer.from(body),
    );
    writeFileSync(path.join(dir, "body.json"), body);
    writeFileSync(
      path.join(dir, "headers.txt"),
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join("\n"),
    );
  });
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await h?.stop();
  });

  /** One line through bash; a line that runs until interrupted (tail) gets SIGINT after `interruptMs`. */
  function bash(line: string, interruptMs?: number): Promise<CliResult> {
    const script = `hookgate() { "$NODE" "$BIN" "$@"; }\n${line}`;
    const env = cliEnv(h.url, h.adminKey, { NODE: process.execPath, BIN, WEBHOOK_SECRET });
    return new Promise((resolve) => {
      const child = spawn("bash", ["-c", script], {
        cwd: dir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
        if (interruptMs !== undefined && stderr.includes("tailing deliveries")) {
          setTimeout(() => process.kill(-child.pid!, "SIGINT"), interruptMs);
        }
      });
      const bound = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 120_000);
      child.on("close", (code) => {
        clearTimeout(bound);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  it("runs every command line of the tour, in order", async () => {
    expect(lines.length).toBeGreaterThanOrEqual(15);
    const ids: Record<string, string> = {};
    for (const raw of lines) {
      let line = raw;
      for (const [placeholder, kind] of [
        ["ten_...", "ten"],
        ["ep_...", "ep"],
        ["dlv_...", "dlv"],
      ] as const) {
        if (!line.includes(placeholder)) continue;
        if (kind === "dlv" && !ids.dlv) ids.dlv = await settledDelivery();
        expect(ids[kind], `${raw}: no ${kind} id printed before`).toBeDefined();
        line = line.replaceAll(placeholder, ids[kind]!);
      }
      // The FAILED,RETRYING listing needs the acme.example delivery to have had its first attempt.
      if (line.includes("deliveries list")) ids.dlv ??= await settledDelivery();
      const isTail = /^hookgate tail /.test(line);
      const res = await bash(line, isTail ? 1000 : undefined);
      expect(res.code, `${line}\n${res.stderr}`).toBe(0);
      if (isTail) expect(res.stderr).toContain("tailing deliveries (Ctrl-C to stop)");
      for (const kind of ["ten", "ep", "dlv"]) {
        ids[kind] ??= new RegExp(`\\b${kind}_[0-9A-Z]{26}\\b`).exec(res.stdout)?.[0] as string;
        if (!ids[kind]) delete ids[kind];
      }
      if (line.includes("verify")) expect(res.stdout).toMatch(/^valid: /);
      if (line.includes("deliveries list")) expect(res.stdout).toMatch(/│ dlv_\S+\s+│ (FAILED|RETRYING)\s+│/);
      if (line.includes("keys create")) expect(res.stdout).toMatch(/^hk_\S+\n$/);
    }
  });

  /** The id of the acme.example delivery once its first attempt failed (FAILED or RETRYING). */
  async function settledDelivery(): Promise<string> {
    return until(async () => {
      const rows = await h.hookgate.app.db.query<{ id: string }>(
        "SELECT id FROM deliveries WHERE status IN ('FAILED', 'RETRYING') ORDER BY id LIMIT 1",
      );
      return rows[0]?.id;
    }, 60_000);
  }
});
