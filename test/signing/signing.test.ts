import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateSecret,
  Signer,
  secretFingerprint,
  secretKeyBytes,
  secretProblem,
  verifyHookgate,
  verifyStandard,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from "../../src/signing/index.js";

// Reference vector published with the Standard Webhooks specification.
const REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const REF_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const REF_TS = 1614265330;
const REF_BODY = '{"test": 2432232314}';
const REF_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const nowSeconds = () => Math.floor(Date.now() / 1000);

// Every signature here comes from Signer, the class the dispatcher signs each attempt with.
function signatureHeaders(opts: { secrets: string[]; msgId: string; timestamp: number; body: string }) {
  return new Signer(opts.secrets).headers(opts.msgId, opts.timestamp, Buffer.from(opts.body, "utf8"));
}
const signStandard = (secrets: string[], msgId: string, timestamp: number, body: string) =>
  signatureHeaders({ secrets, msgId, timestamp, body })["webhook-signature"];
const signStripeStyle = (secrets: string[], timestamp: number, body: string) =>
  signatureHeaders({ secrets, msgId: "msg", timestamp, body })["hookgate-signature"];

function expectCode(fn: () => unknown, code: WebhookVerificationErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(WebhookVerificationError);
  expect((thrown as WebhookVerificationError).code).toBe(code);
}

function onlyStandard(h: Record<string, string>): Record<string, string> {
  const { "hookgate-signature": _, ...rest } = h;
  return rest;
}

function onlyHookgate(h: Record<string, string>): Record<string, string> {
  return { "hookgate-signature": h["hookgate-signature"] };
}

describe("secrets", () => {
  it("generates whsec_ secrets of 24 random bytes", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateSecret();
      expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(Buffer.from(s.slice(6), "base64")).toHaveLength(24);
      expect(secretProblem(s)).toBeNull();
      seen.add(s);
    }
    expect(seen.size).toBe(200);
  });

  it("uses the decoded bytes of a whsec_ secret as the key", () => {
    const key = secretKeyBytes(REF_SECRET);
    expect(key.equals(Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64"))).toBe(true);
    expect(key).toHaveLength(24);
  });

  it("uses the UTF-8 bytes of any other secret as the key", () => {
    const raw = "my-own-secret-ünïcode-1234";
    expect(secretKeyBytes(raw).equals(Buffer.from(raw, "utf8"))).toBe(true);
  });

  it("rejects secrets it could not sign with", () => {
    expect(() => secretKeyBytes("short")).toThrow(TypeError);
    expect(() => secretKeyBytes("x".repeat(257))).toThrow(TypeError);
    expect(() => secretKeyBytes("whsec_not base64 at all!")).toThrow(TypeError);
    expect(() => secretKeyBytes("whsec_")).toThrow(TypeError);
    expect(secretProblem("x".repeat(16))).toBeNull();
    expect(secretProblem("x".repeat(256))).toBeNull();
    expect(secretProblem("x".repeat(15))).not.toBeNull();
  });

  it("fingerprints show the prefix and at most 4 body characters", () => {
    expect(secretFingerprint(REF_SECRET)).toBe("whsec_MfKQ…");
    expect(secretFingerprint("abcdefghijklmnopqrstuvwxyz")).toBe("abcd…");
    for (const s of [generateSecret(), "0123456789abcdef", "whsec_AAAAAAAA", "tiny", ""]) {
      const fp = secretFingerprint(s);
      const body = fp.replace(/^whsec_/, "").replace(/…$/, "");
      expect(body.length).toBeLessThanOrEqual(4);
      expect(fp.endsWith("…")).toBe(true);
      // A short secret must not be mostly revealed.
      expect(body.length).toBeLessThanOrEqual(Math.floor(s.replace(/^whsec_/, "").length / 4));
    }
  });
});

describe("Standard Webhooks form", () => {
  it("matches the specification's reference vector", () => {
    expect(signStandard([REF_SECRET], REF_ID, REF_TS, REF_BODY)).toBe(REF_SIG);
    const verified = verifyWebhook({
      secret: REF_SECRET,
      headers: { "webhook-id": REF_ID, "webhook-timestamp": String(REF_TS), "webhook-signature": REF_SIG },
      body: REF_BODY,
      now: REF_TS,
    });
    expect(verified).toEqual({ id: REF_ID, timestamp: REF_TS, form: "standard" });
  });

  it("is verified by the standardwebhooks package", () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: "invoice.paid", data: { amount: 1200, note: "ünïcode ✓" } });
    const headers = signatureHeaders({ secrets: [secret], msgId: "msg_abc", timestamp: nowSeconds(), body });
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it("signs non-whsec secrets so a raw-key Standard Webhooks verifier accepts them", () => {
    const secret = "plain-user-secret-0123";
    const body = '{"a":1}';
    const headers = signatureHeaders({ secrets: [secret], msgId: "msg_raw", timestamp: nowSeconds(), body });
    expect(new Webhook(Buffer.from(secret, "utf8"), { format: "raw" }).verify(body, headers)).toEqual({
      a: 1,
    });
  });

  it("verifies what the standardwebhooks package signs", () => {
    const secret = generateSecret();
    const body = '{"hello":"world"}';
    const ts = nowSeconds();
    const sig = new Webhook(secret).sign("msg_from_lib", new Date(ts * 1000), body);
    const headers = {
      "webhook-id": "msg_from_lib",
      "webhook-timestamp": String(ts),
      "webhook-signature": sig,
    };
    expect(verifyWebhook({ secret, headers, body })).toEqual({
      id: "msg_from_lib",
      timestamp: ts,
      form: "standard",
    });
    expectCode(() => verifyWebhook({ secret: generateSecret(), headers, body }), "INVALID_SIGNATURE");
  });
});

describe("t=/v1= form", () => {
  it("matches an independent HMAC over ts.body keyed with the whole secret string", () => {
    const secret = REF_SECRET;
    const body = '{"id":"evt_1","amount":42}';
    const ts = 1700000000;
    const hex = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${ts}.${body}`).digest("hex");
    expect(signStripeStyle([secret], ts, body)).toBe(`t=${ts},v1=${hex}`);
    // The key is the string, not the decoded bytes the Standard form uses.
    const decodedKeyHex = createHmac("sha256", secretKeyBytes(secret)).update(`${ts}.${body}`).digest("hex");
    expect(hex).not.toBe(decodedKeyHex);
  });

  it("verifies through verifyWebhook when it is the only signature header", () => {
    const secret = generateSecret();
    const body = "{}";
    const ts = 1700000000;
    const h = signatureHeaders({ secrets: [secret], msgId: "msg_1", timestamp: ts, body });
    expect(verifyWebhook({ secret, headers: onlyHookgate(h), body, now: ts })).toEqual({
      id: "",
      timestamp: ts,
      form: "hookgate",
    });
    expect(verifyHookgate({ secret, headers: h, body, now: ts }).id).toBe("msg_1");
  });

  it("ignores unknown schemes and malformed items", () => {
    const secret = generateSecret();
    const body = "x";
    const ts = 1700000000;
    const good = signStripeStyle([secret], ts, body);
    const v1 = good.split(",v1=")[1];
    const headers = (value: string) => ({ "hookgate-signature": value });
    // A correct HMAC under another scheme name must not count.
    expectCode(
      () => verifyHookgate({ secret, headers: headers(`t=${ts},v0=${v1},v2=${v1}`), body, now: ts }),
      "INVALID_SIGNATURE",
    );
    expect(() =>
      verifyHookgate({ secret, headers: headers(`t=${ts},junk,v1=zz,v1=${v1}`), body, now: ts }),
    ).not.toThrow();
    expectCode(
      () => verifyHookgate({ secret, headers: headers(`v1=${v1}`), body, now: ts }),
      "INVALID_TIMESTAMP",
    );
    expectCode(
      () => verifyHookgate({ secret, headers: headers(`t=${ts},t=${ts + 1},v1=${v1}`), body, now: ts }),
      "INVALID_TIMESTAMP",
    );
    expectCode(
      () => verifyHookgate({ secret, headers: headers(`t=${ts},v1=${v1.slice(0, 62)}`), body, now: ts }),
      "INVALID_SIGNATURE",
    );
  });
});

describe("rotation", () => {
  const a = generateSecret();
  const b = "user-supplied-secret-xyz";
  const c = generateSecret();
  const body = '{"rotating":true}';
  const ts = 1700000000;
  const h = signatureHeaders({ secrets: [a, b], msgId: "msg_rot", timestamp: ts, body });

  it("puts one entry per secret in each header", () => {
    expect(h["webhook-signature"].split(" ")).toHaveLength(2);
    expect(h["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
    expect(h["hookgate-signature"]).toMatch(/^t=1700000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(h["webhook-id"]).toBe("msg_rot");
    expect(h["webhook-timestamp"]).toBe("1700000000");
  });

  for (const form of ["standard", "hookgate"] as const) {
    const headers = form === "standard" ? onlyStandard(h) : onlyHookgate(h);
    it(`${form}: either secret alone verifies, a third does not`, () => {
      expect(verifyWebhook({ secret: a, headers, body, now: ts }).form).toBe(form);
      expect(verifyWebhook({ secret: b, headers, body, now: ts }).form).toBe(form);
      expect(verifyWebhook({ secret: [c, b], headers, body, now: ts }).form).toBe(form);
      expectCode(() => verifyWebhook({ secret: c, headers, body, now: ts }), "INVALID_SIGNATURE");
    });
  }

  it("the standardwebhooks package accepts the rotated header with either secret", () => {
    const fresh = signatureHeaders({ secrets: [a, c], msgId: "msg_rot2", timestamp: nowSeconds(), body });
    expect(new Webhook(a).verify(body, fresh)).toEqual({ rotating: true });
    expect(new Webhook(c).verify(body, fresh)).toEqual({ rotating: true });
  });
});

describe("verifyWebhook rejects", () => {
  const secret = generateSecret();
  const body = '{"order":7}';
  const ts = 1700000000;
  const h = signatureHeaders({ secrets: [secret], msgId: "msg_ok", timestamp: ts, body });
  const forms = { standard: onlyStandard(h), hookgate: onlyHookgate(h) };

  for (const [form, headers] of Object.entries(forms)) {
    it(`${form}: a tampered body`, () => {
      expect(() => verifyWebhook({ secret, headers, body, now: ts })).not.toThrow();
      expectCode(() => verifyWebhook({ secret, headers, body: '{"order":8}', now: ts }), "INVALID_SIGNATURE");
      expectCode(() => verifyWebhook({ secret, headers, body: `${body} `, now: ts }), "INVALID_SIGNATURE");
    });

    it(`${form}: timestamps beyond ±tolerance, accepting exactly at the edge`, () => {
      for (const now of [ts + 300, ts - 300]) {
        expect(verifyWebhook({ secret, headers, body, now }).timestamp).toBe(ts);
      }
      for (const now of [ts + 301, ts - 301]) {
        expectCode(() => verifyWebhook({ secret, headers, body, now }), "TIMESTAMP_OUT_OF_TOLERANCE");
      }
      expect(() =>
        verifyWebhook({ secret, headers, body, now: ts + 3600, toleranceSeconds: 3600 }),
      ).not.toThrow();
      expectCode(
        () => verifyWebhook({ secret, headers, body, now: ts + 11, toleranceSeconds: 10 }),
        "TIMESTAMP_OUT_OF_TOLERANCE",
      );
    });

    it(`${form}: a Buffer body, verified as bytes`, () => {
      expect(verifyWebhook({ secret, headers, body: Buffer.from(body), now: ts }).timestamp).toBe(ts);
      expectCode(
        () => verifyWebhook({ secret, headers, body: Buffer.from(`${body}\n`), now: ts }),
        "INVALID_SIGNATURE",
      );
    });

    it(`${form}: uppercase and mixed-case header names are accepted`, () => {
      const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
      expect(verifyWebhook({ secret, headers: upper, body, now: ts }).form).toBe(form);
      const fetchHeaders = new Headers(
        Object.entries(headers).map(([k, v]) => [k.replace(/^./, (c) => c.toUpperCase()), v]),
      );
      expect(verifyWebhook({ secret, headers: fetchHeaders, body, now: ts }).form).toBe(form);
    });
  }

  it("a wrong or altered webhook-id", () => {
    expectCode(
      () =>
        verifyWebhook({ secret, headers: { ...forms.standard, "webhook-id": "msg_other" }, body, now: ts }),
      "INVALID_SIGNATURE",
    );
  });

  it("a timestamp header changed after signing, even within tolerance", () => {
    const headers = { ...forms.standard, "webhook-timestamp": String(ts + 1) };
    expectCode(() => verifyWebhook({ secret, headers, body, now: ts }), "INVALID_SIGNATURE");
  });

  it("missing headers", () => {
    expectCode(() => verifyWebhook({ secret, headers: {}, body, now: ts }), "MISSING_HEADERS");
    for (const drop of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers: Record<string, string | undefined> = { ...forms.standard, [drop]: undefined };
      expectCode(() => verifyWebhook({ secret, headers, body, now: ts }), "MISSING_HEADERS");
      expectCode(() => verifyStandard({ secret, headers, body, now: ts }), "MISSING_HEADERS");
    }
    expectCode(() => verifyHookgate({ secret, headers: forms.standard, body, now: ts }), "MISSING_HEADERS");
  });

  it("non-numeric timestamps", () => {
    for (const bad of ["abc", "1700000000.5", "-1700000000", "1e9", "17000000000000000000"]) {
      const headers = { ...forms.standard, "webhook-timestamp": bad };
      expectCode(() => verifyWebhook({ secret, headers, body, now: ts }), "INVALID_TIMESTAMP");
      expectCode(
        () => verifyWebhook({ secret, headers: { "hookgate-signature": `t=${bad},v1=00` }, body, now: ts }),
        "INVALID_TIMESTAMP",
      );
    }
  });

  it("garbage, unknown versions and wrong-length signatures", () => {
    const good = forms.standard["webhook-signature"].slice(3);
    const goodBytes = Buffer.from(good, "base64");
    const cases = [
      "garbage",
      "v1,",
      ",,,",
      "v1,!!!not-base64!!!",
      `v2,${good}`,
      `v1a,${good}`,
      `V1,${good}`,
      `v1,${goodBytes.subarray(0, 31).toString("base64")}`,
      `v1,${Buffer.concat([goodBytes, Buffer.from([0])]).toString("base64")}`,
      `v1,${good.slice(0, 20)}`,
      `v1,${Buffer.alloc(32).toString("base64")}`,
    ];
    for (const sig of cases) {
      const headers = { ...forms.standard, "webhook-signature": sig };
      expectCode(() => verifyWebhook({ secret, headers, body, now: ts }), "INVALID_SIGNATURE");
    }
    // Junk around a valid entry must not stop it from matching.
    const mixed = {
      ...forms.standard,
      "webhook-signature": `v2,${good} garbage v1,AAAA v1,${good.slice(0, 20)} v1,${good}`,
    };
    expect(verifyWebhook({ secret, headers: mixed, body, now: ts }).id).toBe("msg_ok");
  });

  it("accepts signatures split over repeated headers", () => {
    const other = generateSecret();
    const h2 = signatureHeaders({ secrets: [other, secret], msgId: "msg_ok", timestamp: ts, body });
    const [first, second] = h2["webhook-signature"].split(" ");
    const asArray = { ...forms.standard, "webhook-signature": [first, second] };
    expect(verifyWebhook({ secret, headers: asArray, body, now: ts }).form).toBe("standard");
    const fetchHeaders = new Headers(
      Object.entries(onlyStandard(h2)).filter(([k]) => k !== "webhook-signature"),
    );
    fetchHeaders.append("webhook-signature", first);
    fetchHeaders.append("webhook-signature", second);
    expect(verifyWebhook({ secret, headers: fetchHeaders, body, now: ts }).form).toBe("standard");
  });

  it("prefers the Standard headers when both forms are present", () => {
    expect(verifyWebhook({ secret, headers: h, body, now: ts }).form).toBe("standard");
    // A broken Standard signature is not rescued by a valid hookgate-signature.
    const broken = { ...h, "webhook-signature": "v1,AAAA" };
    expectCode(() => verifyWebhook({ secret, headers: broken, body, now: ts }), "INVALID_SIGNATURE");
  });

  it("treats an empty secret list as a programming error", () => {
    expect(() => verifyWebhook({ secret: [], headers: h, body, now: ts })).toThrow(TypeError);
  });
});

describe("signing inputs", () => {
  it("refuses to sign without secrets or with a non-integer timestamp", () => {
    expect(() => new Signer([])).toThrow(TypeError);
    expect(() => new Signer([REF_SECRET]).headers("m", 1.5, Buffer.from(""))).toThrow(TypeError);
    expect(() => new Signer([REF_SECRET]).headers("m", Number.NaN, Buffer.from(""))).toThrow(TypeError);
    expect(() => new Signer(["short"])).toThrow(TypeError);
  });

  it("with several secrets, each header lists every secret's own signature in order", () => {
    const body = '{"id":"evt_1","data":{"ünï":"cödé"}}';
    const secrets = [REF_SECRET, "another-user-secret", generateSecret()];
    for (const ts of [REF_TS, REF_TS + 1]) {
      const all = new Signer(secrets).headers(REF_ID, ts, Buffer.from(body));
      const each = secrets.map((s) => new Signer([s]).headers(REF_ID, ts, Buffer.from(body)));
      expect(all["webhook-signature"]).toBe(each.map((h) => h["webhook-signature"]).join(" "));
      expect(all["hookgate-signature"]).toBe(
        `t=${ts}` + each.map((h) => h["hookgate-signature"].slice(`t=${ts}`.length)).join(""),
      );
      expect(all["webhook-id"]).toBe(REF_ID);
      expect(all["webhook-timestamp"]).toBe(String(ts));
    }
    expect(new Signer([REF_SECRET]).headers(REF_ID, REF_TS, Buffer.from(REF_BODY))["webhook-signature"]).toBe(
      REF_SIG,
    );
  });
});
