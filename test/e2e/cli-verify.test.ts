import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEndpoint,
  createEventType,
  FAST,
  publish,
  type ReceivedRequest,
  type Receiver,
  startReceiver,
} from "../integration/delivery-fixtures.js";
import { cliRunner } from "../support/cli.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// `hookgate verify` on requests Hookgate really sent (PGlite and PostgreSQL): saved as files, as a raw
// request on stdin, in both signature forms, and tampered with.

const SECRET = "cli-verify-secret-0123456789";

describe("hookgate verify", { timeout: 180_000 }, () => {
  let h: TestHookgate;
  let receiver: Receiver;
  let cli: ReturnType<typeof cliRunner>;
  let dir: string;
  let req: ReceivedRequest;
  const file = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: FAST });
    receiver = await startReceiver();
    cli = cliRunner(h.url, h.adminKey);
    dir = mkdtempSync(path.join(tmpdir(), "hookgate-cli-verify-"));
    await createEventType(h, "invoice.paid");
    await createEndpoint(h, receiver.url, { events: ["invoice.paid"], secret: SECRET });
    await publish(h, "invoice.paid", { invoiceId: "in_1", note: "naïve ✓" });
    await receiver.waitFor(1, 60_000);
    req = receiver.requests[0]!;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await receiver?.close();
    await h?.stop();
  });

  const headerLines = (headers: ReceivedRequest["headers"], skip: string[] = []) =>
    Object.entries(headers)
      .filter(([k]) => !skip.includes(k))
      .map(([k, v]) => `${k}: ${v}`)
      .join("\r\n");

  it("accepts a delivery saved as header and body files, in both header forms", async () => {
    const headers = file("headers.json", JSON.stringify(req.headers));
    const body = file("body.json", req.body);
    const auto = await cli(["verify", "--secret", SECRET, "--headers", headers, "--body", body]);
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stdout).toMatch(
      new RegExp(
        `^valid: webhook-signature \\(Standard Webhooks\\), id ${req.headers["webhook-id"]}, signed at \\S+Z\\n$`,
      ),
    );
    // The t=,v1= form alone: headers as "Name: value" lines without the Standard Webhooks ones, secret from env.
    const lines = file(
      "headers.txt",
      `POST /hook HTTP/1.1\r\n${headerLines(req.headers, ["webhook-signature"])}\r\n`,
    );
    const tv1 = await cli(["verify", "--headers", lines, "--body", body, "--json"], {
      env: { WEBHOOK_SECRET: SECRET },
    });
    expect(tv1.code, tv1.stderr).toBe(0);
    expect(JSON.parse(tv1.stdout)).toMatchObject({
      valid: true,
      form: "hookgate",
      id: req.headers["webhook-id"],
    });
    const forced = await cli([
      "verify",
      "--secret",
      SECRET,
      "--headers",
      headers,
      "--body",
      body,
      "--form",
      "hookgate",
    ]);
    expect(forced.stdout).toMatch(/^valid: t=,v1= signature, /);
  });

  it("reads a whole raw request from stdin; a rotated-out secret beside the right one still verifies", async () => {
    const raw = `POST /hook HTTP/1.1\r\n${headerLines(req.headers)}\r\n\r\n${req.body}`;
    const res = await cli(
      ["verify", "--secret", "wrong-secret-0123456789", "--secret", SECRET, "--request", "-"],
      {
        stdin: raw,
      },
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^valid: webhook-signature/);
  });

  it("refuses a tampered body, a wrong secret, missing headers and an old timestamp with the reason (exit 1)", async () => {
    const headers = file("h.json", JSON.stringify(req.headers));
    const tampered = await cli([
      "verify",
      "--secret",
      SECRET,
      "--headers",
      headers,
      "--body",
      file("t.json", `${req.body} `),
    ]);
    expect(tampered).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "hookgate: invalid: INVALID_SIGNATURE: No matching signature found\n",
    });
    const body = file("b.json", req.body);
    const wrong = await cli([
      "verify",
      "--secret",
      "another-secret-0123456789",
      "--headers",
      headers,
      "--body",
      body,
      "--json",
    ]);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ valid: false, code: "INVALID_SIGNATURE" });
    const none = await cli(["verify", "--secret", SECRET, "--headers", file("e.json", "{}"), "--body", body]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^hookgate: invalid: MISSING_HEADERS: /);
    const standardOnly = await cli([
      "verify",
      "--secret",
      SECRET,
      "--headers",
      file("s.json", JSON.stringify({ "hookgate-signature": req.headers["hookgate-signature"] })),
      "--body",
      body,
      "--form",
      "standard",
    ]);
    expect(standardOnly.stderr).toMatch(/^hookgate: invalid: MISSING_HEADERS: /);

    // A request saved an hour ago: refused as too old, and the message names the flag that allows it.
    const old = Math.floor(Date.now() / 1000) - 3600;
    const { Signer } = await import("../../src/signing/index.js");
    const signed = new Signer([SECRET]).headers("msg_old", old, Buffer.from(req.body));
    const oldHeaders = file("old.json", JSON.stringify(signed));
    const stale = await cli(["verify", "--secret", SECRET, "--headers", oldHeaders, "--body", body]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /^hookgate: invalid: TIMESTAMP_OUT_OF_TOLERANCE: .* \(an older saved request: raise --tolerance\)\n$/,
    );
    const tolerated = await cli([
      "verify",
      "--secret",
      SECRET,
      "--headers",
      oldHeaders,
      "--body",
      body,
      "--tolerance",
      "7200",
    ]);
    expect(tolerated.code, tolerated.stderr).toBe(0);
  });

  it("--signature-header verifies a t=,v1= header the tenant's delivery profile renamed", async () => {
    const made = await h.gql(
      `mutation { createTenant(input: { name: "Renamed" }) { ... on CreateTenantPayload { tenant { id } } } }`,
    );
    const tenantId = made.data.createTenant.tenant.id;
    const profile = await h.gql(
      `mutation($t: ID) { updateTenantDeliveryProfile(tenantId: $t, input: { signatureHeader: "acme-signature", standardWebhooksHeaders: false }) { __typename } }`,
      { t: tenantId },
    );
    expect(profile.data.updateTenantDeliveryProfile.__typename).toBe("UpdateTenantDeliveryProfilePayload");
    const own = await startReceiver();
    try {
      await createEndpoint(h, own.url, { events: ["invoice.paid"], secret: SECRET, tenantId });
      await publish(h, "invoice.paid", { invoiceId: "in_2" }, { tenantId });
      await own.waitFor(1, 60_000);
      const renamed = own.requests[0]!;
      expect(renamed.headers["acme-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      const headers = file("renamed.json", JSON.stringify(renamed.headers));
      const body = file("renamed-body.json", renamed.body);
      const plain = await cli(["verify", "--secret", SECRET, "--headers", headers, "--body", body]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/^hookgate: invalid: MISSING_HEADERS: /);
      const named = await cli([
        "verify",
        "--secret",
        SECRET,
        "--headers",
        headers,
        "--body",
        body,
        "--signature-header",
        "Acme-Signature",
      ]);
      expect(named.code, named.stderr).toBe(0);
      expect(named.stdout).toMatch(/^valid: t=,v1= signature, /);
      const other = await cli([
        "verify",
        "--secret",
        SECRET,
        "--headers",
        headers,
        "--body",
        body,
        "--signature-header",
        "x-sig",
      ]);
      expect(other).toMatchObject({
        code: 1,
        stderr: "hookgate: --signature-header: the request has no x-sig header\n",
      });
    } finally {
      await own.close();
    }
  });

  it("bad input exits 2 with one line", async () => {
    const body = file("b2.json", req.body);
    const headers = file("h2.json", JSON.stringify(req.headers));
    const noSecret = await cli(["verify", "--headers", headers, "--body", body], {
      env: { WEBHOOK_SECRET: "" },
    });
    expect(noSecret).toMatchObject({
      code: 2,
      stderr: "hookgate: no secret: pass --secret or set WEBHOOK_SECRET\n",
    });
    const badSecret = await cli(["verify", "--secret", "whsec_!!!", "--headers", headers, "--body", body]);
    expect(badSecret.code).toBe(2);
    expect(badSecret.stderr).toMatch(/^hookgate: --secret: Invalid signing secret: /);
    const missing = await cli(["verify", "--secret", SECRET, "--headers", headers, "--body", "/nonexistent"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^hookgate: --body: cannot read \/nonexistent: /);
    const noBody = await cli(["verify", "--secret", SECRET, "--headers", headers]);
    expect(noBody.code).toBe(2);
    expect(noBody.stderr).toMatch(/^hookgate: give the saved request: /);
    const twoStdin = await cli(["verify", "--secret", SECRET, "--headers", "-", "--body", "-"]);
    expect(twoStdin.code).toBe(2);
    const garbled = await cli([
      "verify",
      "--secret",
      SECRET,
      "--headers",
      file("g.txt", "not a header"),
      "--body",
      body,
    ]);
    expect(garbled).toMatchObject({
      code: 2,
      stderr: 'hookgate: --headers: line 1 is not "Name: value": not a header\n',
    });
    const noSplit = await cli(["verify", "--secret", SECRET, "--request", "-"], { stdin: "webhook-id: x" });
    expect(noSplit.code).toBe(2);
  });
});
