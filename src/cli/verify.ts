import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { fail } from "./client.js";
import { integer } from "./input.js";

/*
 * `hookgate verify`: checks a saved request's signature with hookgate/verify, as a receiver would. Needs
 * no server. Exit 0 when valid; 1 with the reason (missing headers, bad timestamp, no matching signature);
 * 2 for bad input (no secret, unreadable files).
 */

interface VerifyCliOptions {
  secret?: string[];
  headers?: string;
  body?: string;
  request?: string;
  form: "auto" | "standard" | "hookgate";
  signatureHeader?: string;
  tolerance: string;
  json?: boolean;
}

function readBytes(source: string, option: string): Buffer {
  try {
    return readFileSync(source === "-" ? 0 : source);
  } catch (err) {
    fail(`${option}: cannot read ${source === "-" ? "stdin" : source}: ${(err as Error).message}`, 2);
  }
}

/**
 * Headers as a JSON object ({"webhook-id": "..."}) or as HTTP header lines ("Name: value"), optionally
 * after a request line ("POST /hook HTTP/1.1").
 */
function parseHeaders(text: string, option: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    } catch (err) {
      fail(`${option}: not a JSON object of headers: ${(err as Error).message}`, 2);
    }
  }
  const headers: Record<string, string> = {};
  for (const [i, line] of trimmed.split(/\r?\n/).entries()) {
    if (line === "" || (i === 0 && /^[A-Z]+ \S+ HTTP\/[\d.]+$/.test(line))) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) fail(`${option}: line ${i + 1} is not "Name: value": ${line.slice(0, 60)}`, 2);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

/** A whole saved request: header lines, an empty line, then the body bytes exactly. */
function splitRequest(raw: Buffer): { head: string; body: Buffer } {
  const crlf = raw.indexOf("\r\n\r\n");
  const lf = raw.indexOf("\n\n");
  if (crlf < 0 && lf < 0) fail("--request: no empty line between the headers and the body", 2);
  const [at, sep] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : [lf, 2];
  return { head: raw.subarray(0, at).toString("utf8"), body: raw.subarray(at + sep) };
}

function inputs(opts: VerifyCliOptions): { headers: Record<string, string>; body: Buffer } {
  const stdin = [opts.headers, opts.body, opts.request].filter((s) => s === "-");
  if (stdin.length > 1) fail("only one of --headers, --body and --request can read stdin (-)", 2);
  if (opts.request !== undefined) {
    if (opts.headers !== undefined || opts.body !== undefined) {
      fail("--request holds the headers and the body: not with --headers/--body", 2);
    }
    const { head, body } = splitRequest(readBytes(opts.request, "--request"));
    return { headers: parseHeaders(head, "--request"), body };
  }
  if (opts.headers === undefined || opts.body === undefined) {
    fail("give the saved request: --headers <file> and --body <file>, or --request <file> (- for stdin)", 2);
  }
  const headers = parseHeaders(readBytes(opts.headers, "--headers").toString("utf8"), "--headers");
  return { headers, body: readBytes(opts.body, "--body") };
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("check a saved webhook request's signature (Standard Webhooks or t=,v1=); exit 0 when valid")
    .option(
      "--secret <secret>",
      "the endpoint's signing secret; repeat for several (default: WEBHOOK_SECRET)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--headers <file>", 'the headers: a JSON object or "Name: value" lines (- for stdin)')
    .option("--body <file>", "the body, the exact bytes received (- for stdin)")
    .option("--request <file>", "instead of --headers/--body: the raw request (headers, empty line, body)")
    .addOption(
      new Option("--form <form>", "which signature to check: auto prefers Standard Webhooks")
        .choices(["auto", "standard", "hookgate"])
        .default("auto"),
    )
    .option("--signature-header <name>", "the t=,v1= header's name if the delivery profile renamed it")
    .option(
      "--tolerance <seconds>",
      "largest accepted age of the timestamp (a saved request is older)",
      "300",
    )
    .option("--json", "print the result as JSON")
    .action(async (opts: VerifyCliOptions) => {
      const secrets = opts.secret ?? (process.env.WEBHOOK_SECRET ? [process.env.WEBHOOK_SECRET] : []);
      if (secrets.length === 0) fail("no secret: pass --secret or set WEBHOOK_SECRET", 2);
      const toleranceSeconds = integer(opts.tolerance, "--tolerance", 0, Number.MAX_SAFE_INTEGER);
      const { headers, body } = inputs(opts);
      const name = opts.signatureHeader?.toLowerCase();
      if (name && name !== "hookgate-signature") {
        if (headers[name] === undefined) fail(`--signature-header: the request has no ${name} header`, 1);
        headers["hookgate-signature"] = headers[name];
      }
      const { verifyHookgate, verifyStandard, verifyWebhook, WebhookVerificationError } = await import(
        "../verify.js"
      );
      const verify = { auto: verifyWebhook, standard: verifyStandard, hookgate: verifyHookgate }[opts.form];
      try {
        const ok = verify({ secret: secrets, headers, body, toleranceSeconds });
        if (opts.json) process.stdout.write(`${JSON.stringify({ valid: true, ...ok })}\n`);
        else {
          const at = new Date(ok.timestamp * 1000).toISOString();
          const form = ok.form === "standard" ? "webhook-signature (Standard Webhooks)" : "t=,v1= signature";
          process.stdout.write(`valid: ${form}, id ${ok.id || "(none)"}, signed at ${at}\n`);
        }
      } catch (err) {
        // A secret that cannot be a signing key (bad whsec_ base64, too short) is bad input, not a bad request.
        if (err instanceof TypeError) fail(`--secret: ${err.message}`, 2);
        if (!(err instanceof WebhookVerificationError)) throw err;
        if (opts.json)
          process.stdout.write(`${JSON.stringify({ valid: false, code: err.code, message: err.message })}\n`);
        const hint =
          err.code === "TIMESTAMP_OUT_OF_TOLERANCE" ? " (an older saved request: raise --tolerance)" : "";
        fail(`invalid: ${err.code}: ${err.message}${hint}`);
      }
    });
}
