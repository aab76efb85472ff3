import type dns from "node:dns";
import { describe, expect, it } from "vitest";
import {
  checkEndpointUrl,
  isBlockedAddress,
  type LookupFn,
  MAX_URL_LENGTH,
  policyFromConfig,
  resolveAndCheckUrl,
  type UrlPolicy,
} from "../../src/security/url-policy.js";

const strict: UrlPolicy = { allowInsecure: false, allowedCidrs: [] };
const dev: UrlPolicy = { allowInsecure: true, allowedCidrs: [] };

describe("checkEndpointUrl", () => {
  // [url, accepted?, fragment of the message when refused]
  const cases: [string, boolean, string?][] = [
    ["https://example.com/webhooks", true],
    ["https://example.com:8443/hook?x=1", true],
    ["https://93.184.216.34/", true],
    ["https://[2606:4700::1111]/", true],
    ["https://EXAMPLE.com./", true],
    ["https://bücher.example/", true],
    // schemes
    ["http://example.com/", false, "https"],
    ["javascript:alert(1)", false, "https"],
    ["ftp://example.com/", false, "https"],
    ["file:///etc/passwd", false, "https"],
    ["data:text/plain,hi", false, "https"],
    // not absolute / no host
    ["/relative/path", false, "valid absolute URL"],
    ["example.com", false, "valid absolute URL"],
    ["https://", false, "valid absolute URL"],
    ["", false, "required"],
    [" https://example.com/", false, "spaces"],
    ["https://exa\tmple.com/", false, "control"],
    // userinfo
    ["https://a@b.example/", false, "user name"],
    ["https://a:b@c.example/", false, "user name"],
    ["https://@b.example/", false, "user name"],
    ["https://evil.example\\@good.example/", false, "user name"],
    // fragment
    ["https://example.com/#frag", false, "fragment"],
    ["https://example.com/#", false, "fragment"],
    // ports
    ["https://example.com:0/", false, "port"],
    ["https://example.com:65536/", false, "valid absolute URL"],
    // loopback in every spelling the URL parser normalises
    ["https://127.0.0.1/", false, "loopback"],
    ["https://127.0.0.1./", false, "loopback"],
    ["https://2130706433/", false, "loopback"],
    ["https://0x7f.1/", false, "loopback"],
    ["https://0x7f000001/", false, "loopback"],
    ["https://0177.0.0.1/", false, "loopback"],
    ["https://127.1/", false, "loopback"],
    ["https://１２７.0.0.1/", false, "loopback"],
    ["https://[::1]/", false, "loopback"],
    ["https://[::ffff:127.0.0.1]/", false, "loopback"],
    ["https://[::ffff:7f00:1]/", false, "loopback"],
    ["https://[::127.0.0.1]/", false, "ipv4Compatible"],
    // other blocked ranges
    ["https://10.0.0.1/", false, "private"],
    ["https://172.16.5.4/", false, "private"],
    ["https://192.168.1.1/", false, "private"],
    ["https://[::ffff:10.0.0.1]/", false, "private"],
    ["https://[fd00:ec2::254]/", false, "unique local"],
    ["https://169.254.169.254/latest/meta-data/", false, "link-local"],
    ["https://[fe80::1]/", false, "link-local"],
    ["https://100.64.0.1/", false, "carrier-grade NAT"],
    ["https://0.0.0.0/", false, "unspecified"],
    ["https://0/", false, "unspecified"],
    ["https://[::]/", false, "unspecified"],
    ["https://224.0.0.1/", false, "multicast"],
    ["https://[ff02::1]/", false, "multicast"],
    ["https://255.255.255.255/", false, "broadcast"],
    ["https://240.0.0.1/", false, "reserved"],
    ["https://198.18.0.1/", false, "reserved"],
    ["https://[2001:db8::1]/", false, "reserved"],
    ["https://[2002:7f00:1::]/", false, "6to4"],
    ["https://[2001::1]/", false, "teredo"],
    ["https://[64:ff9b::a00:1]/", false, "rfc6052"],
    // names for this machine
    ["https://localhost/", false, "this machine"],
    ["https://LOCALHOST:8443/", false, "this machine"],
    ["https://localhost./", false, "this machine"],
    ["https://localhost../", false, "this machine"],
    ["https://api.localhost/", false, "this machine"],
    ["https://ｌｏｃａｌｈｏｓｔ/", false, "this machine"],
    ["https://localhost.localdomain/", false, "this machine"],
    ["https://ip6-localhost/", false, "this machine"],
  ];

  it.each(cases)("%s → accepted=%s", (raw, accepted, fragment) => {
    const result = checkEndpointUrl(raw, strict);
    expect(result.ok).toBe(accepted);
    if (!result.ok && fragment) expect(result.message).toContain(fragment);
  });

  it("sees the punycoded (ASCII) form of IDN hosts", () => {
    const result = checkEndpointUrl("https://bücher.example/x", strict);
    expect(result.ok && result.url.hostname).toBe("xn--bcher-kva.example");
  });

  it("accepts exactly 2048 characters and refuses 2049", () => {
    const base = "https://example.com/";
    const exact = base + "a".repeat(MAX_URL_LENGTH - base.length);
    expect(exact).toHaveLength(2048);
    expect(checkEndpointUrl(exact, strict).ok).toBe(true);
    const over = checkEndpointUrl(`${exact}a`, strict);
    expect(over.ok).toBe(false);
    expect(!over.ok && over.message).toContain("too long");
  });

  it("counts the normalised length too (IDN hosts grow when punycoded)", () => {
    const host = "ü".repeat(40);
    const raw = `https://${host}.example/` + "a".repeat(1990);
    expect(raw.length).toBeLessThanOrEqual(MAX_URL_LENGTH);
    expect(new URL(raw).href.length).toBeGreaterThan(MAX_URL_LENGTH);
    expect(checkEndpointUrl(raw, strict).ok).toBe(false);
  });

  it("allowInsecure permits http, localhost, loopback and private, but not metadata or 0.0.0.0", () => {
    for (const raw of [
      "http://localhost:3000/hook",
      "http://127.0.0.1:3000/",
      "http://[::1]:3000/",
      "https://192.168.1.10/",
      "http://[fd00::1]/",
    ]) {
      expect(checkEndpointUrl(raw, dev), raw).toMatchObject({ ok: true });
    }
    for (const raw of [
      "http://169.254.169.254/",
      "http://0.0.0.0:3000/",
      "http://100.64.0.1/",
      "ftp://localhost/",
    ]) {
      expect(checkEndpointUrl(raw, dev).ok, raw).toBe(false);
    }
  });

  it("allowedCidrs lets exactly that range through", () => {
    const policy: UrlPolicy = { allowInsecure: false, allowedCidrs: ["10.20.0.0/16", "fd00:1::/64"] };
    expect(checkEndpointUrl("https://10.20.3.4/", policy).ok).toBe(true);
    expect(checkEndpointUrl("https://[::ffff:10.20.3.4]/", policy).ok).toBe(true);
    expect(checkEndpointUrl("https://[fd00:1::9]/", policy).ok).toBe(true);
    expect(checkEndpointUrl("https://10.21.0.1/", policy).ok).toBe(false);
    expect(checkEndpointUrl("https://[fd00:2::9]/", policy).ok).toBe(false);
    // An allow-list opens addresses, not schemes.
    expect(checkEndpointUrl("http://10.20.3.4/", policy).ok).toBe(false);
  });

  it("a localhost name is open exactly when allowedCidrs covers loopback", () => {
    const other: UrlPolicy = { allowInsecure: false, allowedCidrs: ["10.20.0.0/16"] };
    const v4: UrlPolicy = { allowInsecure: false, allowedCidrs: ["127.0.0.0/8"] };
    const v6: UrlPolicy = { allowInsecure: false, allowedCidrs: ["::1/128"] };
    for (const url of ["https://localhost:8443/", "https://api.localhost/"]) {
      expect(checkEndpointUrl(url, other).ok, url).toBe(false);
      expect(checkEndpointUrl(url, v4).ok, url).toBe(true);
      expect(checkEndpointUrl(url, v6).ok, url).toBe(true);
    }
    // Opening loopback opens no scheme either.
    expect(checkEndpointUrl("http://localhost:8443/", v4).ok).toBe(false);
  });
});

describe("isBlockedAddress", () => {
  const cases: [string, string | null][] = [
    ["8.8.8.8", null],
    ["2606:4700::1111", null],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["10.0.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["fc00::1", "uniqueLocal"],
    ["169.254.169.254", "linkLocal"],
    ["fe80::1", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["198.18.0.1", "reserved"],
    ["::7f00:1", "ipv4Compatible"],
    ["not-an-ip", "invalid"],
  ];
  it.each(cases)("%s → %s", (ip, range) => {
    expect(isBlockedAddress(ip, strict)).toBe(range);
  });

  it("allowInsecure opens loopback and private ranges only", () => {
    expect(isBlockedAddress("127.0.0.1", dev)).toBeNull();
    expect(isBlockedAddress("::1", dev)).toBeNull();
    expect(isBlockedAddress("10.1.2.3", dev)).toBeNull();
    expect(isBlockedAddress("fd00::1", dev)).toBeNull();
    expect(isBlockedAddress("169.254.169.254", dev)).toBe("linkLocal");
    expect(isBlockedAddress("0.0.0.0", dev)).toBe("unspecified");
  });

  it("allowedCidrs accepts ranges, single addresses and mapped forms", () => {
    const policy: UrlPolicy = {
      allowInsecure: false,
      allowedCidrs: ["10.20.0.0/16", "192.168.1.7", "::ffff:172.16.0.0/112"],
    };
    expect(isBlockedAddress("10.20.255.1", policy)).toBeNull();
    expect(isBlockedAddress("::ffff:10.20.0.1", policy)).toBeNull();
    expect(isBlockedAddress("192.168.1.7", policy)).toBeNull();
    expect(isBlockedAddress("192.168.1.8", policy)).toBe("private");
    expect(isBlockedAddress("172.16.3.3", policy)).toBeNull();
    expect(isBlockedAddress("172.17.0.1", policy)).toBe("private");
  });
});

describe("policyFromConfig", () => {
  it("copies the settings and refuses malformed CIDRs naming the variable", () => {
    expect(policyFromConfig({ allowInsecureUrls: true, allowedCidrs: ["10.0.0.0/8"] })).toEqual({
      allowInsecure: true,
      allowedCidrs: ["10.0.0.0/8"],
    });
    expect(() => policyFromConfig({ allowInsecureUrls: false, allowedCidrs: ["10.0.0.0/33"] })).toThrow(
      /HOOKGATE_ALLOWED_CIDRS: "10.0.0.0\/33"/,
    );
    expect(() => policyFromConfig({ allowInsecureUrls: false, allowedCidrs: ["intranet"] })).toThrow(
      /HOOKGATE_ALLOWED_CIDRS/,
    );
  });
});

function fakeLookup(answers: Record<string, string[] | NodeJS.ErrnoException | "hang">) {
  const calls: { hostname: string; options: dns.LookupOptions }[] = [];
  const lookup: LookupFn = (hostname, options, callback) => {
    calls.push({ hostname, options });
    const answer = answers[hostname];
    if (answer === "hang") return;
    if (answer === undefined || answer instanceof Error) {
      const err: NodeJS.ErrnoException = answer ?? new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code ??= "ENOTFOUND";
      setImmediate(() => callback(err, []));
      return;
    }
    const all = answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    setImmediate(() => (options.all ? callback(null, all) : callback(null, all[0].address, all[0].family)));
  };
  return { lookup, calls };
}

describe("resolveAndCheckUrl", () => {
  it("refuses names that resolve to a blocked address", async () => {
    const { lookup, calls } = fakeLookup({ "evil.test": ["10.0.0.1"], "meta.test": ["169.254.169.254"] });
    const evil = await resolveAndCheckUrl("https://evil.test/hook", strict, lookup);
    expect(evil).toEqual({
      ok: false,
      message: expect.stringMatching(/evil\.test resolves to 10\.0\.0\.1, a private network address/),
    });
    const meta = await resolveAndCheckUrl("https://meta.test/", strict, lookup);
    expect(!meta.ok && meta.message).toContain("link-local");
    expect(calls.map((c) => c.hostname)).toEqual(["evil.test", "meta.test"]);
    expect(calls[0].options.all).toBe(true);
  });

  it("refuses when any one of several addresses is blocked", async () => {
    const { lookup } = fakeLookup({ "mixed.test": ["1.1.1.1", "::ffff:127.0.0.1"] });
    const result = await resolveAndCheckUrl("https://mixed.test/", strict, lookup);
    expect(!result.ok && result.message).toContain("loopback");
  });

  it("accepts names that resolve to public addresses", async () => {
    const { lookup } = fakeLookup({ "good.test": ["1.1.1.1", "2606:4700::1111"] });
    const result = await resolveAndCheckUrl("https://good.test/", strict, lookup);
    expect(result.ok && result.url.href).toBe("https://good.test/");
  });

  it("accepts names that do not resolve now (offline creation)", async () => {
    const { lookup } = fakeLookup({});
    expect((await resolveAndCheckUrl("https://not-yet.test/", strict, lookup)).ok).toBe(true);
    const thrower: LookupFn = () => {
      throw new Error("resolver unavailable");
    };
    expect((await resolveAndCheckUrl("https://not-yet.test/", strict, thrower)).ok).toBe(true);
  });

  it("gives up waiting on a slow resolver and accepts", async () => {
    const { lookup } = fakeLookup({ "slow.test": "hang" });
    const started = Date.now();
    const result = await resolveAndCheckUrl("https://slow.test/", strict, lookup, { timeoutMs: 50 });
    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("resolves the ASCII form without the trailing dot, and never looks up IP literals", async () => {
    const { lookup, calls } = fakeLookup({ "xn--bcher-kva.example": ["10.0.0.7"] });
    const result = await resolveAndCheckUrl("https://bücher.example./", strict, lookup);
    expect(result.ok).toBe(false);
    expect(calls.map((c) => c.hostname)).toEqual(["xn--bcher-kva.example"]);
    expect((await resolveAndCheckUrl("https://1.1.1.1/", strict, lookup)).ok).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it("stops at the syntax checks before any lookup", async () => {
    const { lookup, calls } = fakeLookup({});
    expect((await resolveAndCheckUrl("http://example.test/", strict, lookup)).ok).toBe(false);
    expect((await resolveAndCheckUrl("https://localhost/", strict, lookup)).ok).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it("honours allowedCidrs and allowInsecure for resolved addresses", async () => {
    const { lookup } = fakeLookup({ "internal.test": ["10.20.0.5"], localhost: ["127.0.0.1", "::1"] });
    expect((await resolveAndCheckUrl("https://internal.test/", strict, lookup)).ok).toBe(false);
    const allowed: UrlPolicy = { allowInsecure: false, allowedCidrs: ["10.20.0.0/16"] };
    expect((await resolveAndCheckUrl("https://internal.test/", allowed, lookup)).ok).toBe(true);
    expect((await resolveAndCheckUrl("http://localhost:3000/", dev, lookup)).ok).toBe(true);
    // localhost here resolves to ::1 as well: 127.0.0.0/8 alone does not open it, both ranges do.
    const v4: UrlPolicy = { allowInsecure: false, allowedCidrs: ["127.0.0.0/8"] };
    const both: UrlPolicy = { allowInsecure: false, allowedCidrs: ["127.0.0.0/8", "::1/128"] };
    const refused = await resolveAndCheckUrl("https://localhost:8443/", v4, lookup);
    expect(refused).toMatchObject({ ok: false, message: expect.stringContaining("resolves to ::1") });
    expect((await resolveAndCheckUrl("https://localhost:8443/", both, lookup)).ok).toBe(true);
  });
});
