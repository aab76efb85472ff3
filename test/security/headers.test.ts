import { describe, expect, it } from "vitest";
import { type CustomHeader, isSensitiveHeader, validateCustomHeaders } from "../../src/security/headers.js";

const h = (name: string, value = "v"): CustomHeader => ({ name, value });

describe("validateCustomHeaders", () => {
  it("accepts ordinary headers", () => {
    expect(validateCustomHeaders([])).toEqual([]);
    expect(
      validateCustomHeaders([
        h("Authorization", "Bearer abc"),
        h("X-Tenant", "t1"),
        h("x-empty", ""),
        h("X-Tab", "a\tb"),
      ]),
    ).toEqual([]);
  });

  const reserved = [
    "webhook-id",
    "Webhook-Signature",
    "webhook-anything",
    "hookgate-signature",
    "Hookgate-Foo",
    "content-type",
    "Content-Length",
    "content-encoding",
    "host",
    "User-Agent",
    "connection",
    "Transfer-Encoding",
    "te",
    "trailer",
    "upgrade",
    "keep-alive",
    "proxy-authorization",
    "Proxy-Connection",
    "expect",
  ];
  it.each(reserved)("refuses the reserved name %s", (name) => {
    expect(validateCustomHeaders([h("X-Ok"), h(name)])).toEqual([
      { path: "headers.1.name", message: expect.stringContaining("cannot be overridden") },
    ]);
  });

  it("refuses header injection in values", () => {
    for (const value of ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\0b"]) {
      expect(validateCustomHeaders([h("X-A", value)]), JSON.stringify(value)).toEqual([
        { path: "headers.0.value", message: expect.stringContaining("line breaks") },
      ]);
    }
    expect(validateCustomHeaders([h("X-A", "a\u0001b")])[0].path).toBe("headers.0.value");
    expect(validateCustomHeaders([h("X-A", "emoji 🔑")])[0].path).toBe("headers.0.value");
  });

  it("refuses names that are not RFC 9110 tokens", () => {
    for (const name of ["X A", "X:A", "X-A\r\nB", "", "Ünï", "X(A)", 'X"A']) {
      expect(
        validateCustomHeaders([h(name)]).map((i) => i.path),
        name,
      ).toEqual(["headers.0.name"]);
    }
    expect(validateCustomHeaders([h("!#$%&'*+-.^_`|~09azAZ")])).toEqual([]);
  });

  it("allows 20 headers and refuses 21", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => h(`X-H${i}`));
    expect(validateCustomHeaders(many(20))).toEqual([]);
    expect(validateCustomHeaders(many(21))).toEqual([
      { path: "headers", message: expect.stringContaining("20") },
    ]);
  });

  it("allows 64-character names and refuses 65", () => {
    expect(validateCustomHeaders([h("X".repeat(64))])).toEqual([]);
    expect(validateCustomHeaders([h("X".repeat(65))])).toEqual([
      { path: "headers.0.name", message: expect.stringContaining("1 to 64") },
    ]);
  });

  it("allows 4096-character values and refuses 4097", () => {
    expect(validateCustomHeaders([h("X-A", "v".repeat(4096))])).toEqual([]);
    expect(validateCustomHeaders([h("X-A", "v".repeat(4097))])).toEqual([
      { path: "headers.0.value", message: expect.stringContaining("4096") },
    ]);
  });

  it("refuses duplicates regardless of case, reporting the later one", () => {
    expect(validateCustomHeaders([h("X-A"), h("X-B"), h("x-a")])).toEqual([
      { path: "headers.2.name", message: expect.stringContaining("more than once") },
    ]);
  });

  it("reports every problem with its own path", () => {
    const issues = validateCustomHeaders([h("host"), h("X-Ok", "a\nb"), h("bad name", "v".repeat(5000))]);
    expect(issues.map((i) => i.path)).toEqual([
      "headers.0.name",
      "headers.1.value",
      "headers.2.name",
      "headers.2.value",
    ]);
  });

  it("copes with non-string input from untyped callers", () => {
    const issues = validateCustomHeaders([{ name: 1, value: null } as unknown as CustomHeader]);
    expect(issues.map((i) => i.path)).toEqual(["headers.0.name", "headers.0.value"]);
  });
});

describe("sensitive headers", () => {
  it.each([
    "Authorization",
    "proxy-authorization",
    "Cookie",
    "X-Api-Key",
    "X-Auth-Token",
    "X-Client-Secret",
    "X-Password",
    "X-Signature",
    "X-AUTH",
    "Api-Key",
  ])("%s is sensitive", (name) => {
    expect(isSensitiveHeader(name)).toBe(true);
  });

  it.each(["X-Tenant", "Accept", "X-Request-Id", "X-Region"])("%s is not sensitive", (name) => {
    expect(isSensitiveHeader(name)).toBe(false);
  });
});
