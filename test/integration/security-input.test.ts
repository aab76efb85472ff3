import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_HEADER_VALUE_LENGTH } from "../../src/security/headers.js";
import { zoneLookup } from "../support/dns.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { countRows, expectNothingChanged, jsonHeaders, rawRequest } from "../support/matrix.js";

const PUBLIC_IP = "93.184.215.14";
const ZONE: Record<string, string[]> = {
  "public.example": [PUBLIC_IP],
  "loopback.example": ["127.0.0.1"],
  "internal.example": ["10.0.0.7"],
  "mixed.example": [PUBLIC_IP, "10.0.0.1"],
  "v6.example": ["fd00::5"],
  "xn--bcher-kva.example": ["169.254.169.254"],
};

const fakeLookup = zoneLookup(ZONE);

const loopback = (host: string) =>
  `The URL's host ${host} is a loopback address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.`;
const USERINFO =
  "The URL must not contain a user name or password; use a custom header such as Authorization.";
const NOT_HTTPS = "The URL must use https://.";
const INVALID = "The URL is not a valid absolute URL (e.g. https://example.com/webhooks).";
const TOO_LONG = "The URL is too long: at most 2048 characters are allowed.";
const CONTROL = "The URL must not contain control characters or leading/trailing spaces.";

/** [url, exact message, resolved through the fake DNS zone] */
const URL_ROWS: [string, string, boolean?][] = [
  ["https://2130706433/", loopback("127.0.0.1")],
  ["https://0177.0.0.1/", loopback("127.0.0.1")],
  ["https://0x7f.0.0.1/", loopback("127.0.0.1")],
  ["https://0x7f000001/", loopback("127.0.0.1")],
  ["https://127.1/", loopback("127.0.0.1")],
  ["https://127.0.0.1./", loopback("127.0.0.1")],
  ["https://%31%32%37.0.0.1/", loopback("127.0.0.1")],
  ["https://127。0。0。1/", loopback("127.0.0.1")],
  ["https:/\\127.0.0.1/", loopback("127.0.0.1")],
  ["https://[::1]/", loopback("::1")],
  ["https://[::ffff:127.0.0.1]/", loopback("::ffff:7f00:1")],
  [
    "https://[::127.0.0.1]/",
    "The URL's host ::7f00:1 is a special-purpose address (ipv4Compatible), which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://[64:ff9b::7f00:1]/",
    "The URL's host 64:ff9b::7f00:1 is a special-purpose address (rfc6052), which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://[2002:7f00:1::]/",
    "The URL's host 2002:7f00:1:: is a special-purpose address (6to4), which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://169.254.169.254/latest/meta-data/",
    "The URL's host 169.254.169.254 is a link-local address (this includes cloud metadata services), which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://[::ffff:a9fe:a9fe]/",
    "The URL's host ::ffff:a9fe:a9fe is a link-local address (this includes cloud metadata services), which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://[fd00:ec2::254]/",
    "The URL's host fd00:ec2::254 is a private (unique local) IPv6 address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://10.0.0.1/",
    "The URL's host 10.0.0.1 is a private network address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://172.16.0.1/",
    "The URL's host 172.16.0.1 is a private network address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://192.168.1.1/",
    "The URL's host 192.168.1.1 is a private network address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://100.64.0.1/",
    "The URL's host 100.64.0.1 is a carrier-grade NAT address, which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://0.0.0.0/",
    "The URL's host 0.0.0.0 is an unspecified address, which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://[::]/",
    "The URL's host :: is an unspecified address, which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://224.0.0.1/",
    "The URL's host 224.0.0.1 is a multicast address, which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://255.255.255.255/",
    "The URL's host 255.255.255.255 is the broadcast address, which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://localhost/",
    "The URL's host localhost refers to this machine, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://localhost./",
    "The URL's host localhost refers to this machine, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://LOCALHOST:8443/",
    "The URL's host localhost refers to this machine, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  [
    "https://foo.localhost/",
    "The URL's host foo.localhost refers to this machine, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
  ],
  ["https://a@b.example/", USERINFO],
  ["https://user:pass@public.example/", USERINFO],
  ["https://public.example@127.0.0.1/", USERINFO],
  [
    "http://public.example/",
    "The URL must use https://; plain http:// is allowed only with HOOKGATE_ALLOW_INSECURE_URLS=1 (development).",
  ],
  [
    "http://127.0.0.1:9/",
    "The URL must use https://; plain http:// is allowed only with HOOKGATE_ALLOW_INSECURE_URLS=1 (development).",
  ],
  ["ftp://public.example/", NOT_HTTPS],
  ["file:///etc/passwd", NOT_HTTPS],
  ["javascript:alert(1)", NOT_HTTPS],
  ["gopher://127.0.0.1:6379/_INFO", NOT_HTTPS],
  ["https://public.example:0/", "The URL's port must be between 1 and 65535."],
  ["https://public.example:65536/", INVALID],
  ["https://[fe80::1%25eth0]/", INVALID],
  ["not a url", INVALID],
  ["", "The URL is required."],
  ["https://public.example/#frag", "The URL must not contain a fragment (#...): fragments are never sent."],
  ["https://public.example/\r\nHost: evil", CONTROL],
  [" https://public.example/", CONTROL],
  [`https://public.example/${"a".repeat(2049 - "https://public.example/".length)}`, TOO_LONG],
  // Names: refused when ANY address they resolve to is blocked.
  [
    "https://loopback.example/",
    "The URL's host loopback.example resolves to 127.0.0.1, a loopback address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
    true,
  ],
  [
    "https://internal.example./",
    "The URL's host internal.example resolves to 10.0.0.7, a private network address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
    true,
  ],
  [
    "https://mixed.example/",
    "The URL's host mixed.example resolves to 10.0.0.1, a private network address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
    true,
  ],
  [
    "https://v6.example/",
    "The URL's host v6.example resolves to fd00::5, a private (unique local) IPv6 address, which cannot be used. For development, HOOKGATE_ALLOW_INSECURE_URLS=1 allows it; HOOKGATE_ALLOWED_CIDRS can allow its range.",
    true,
  ],
  [
    "https://bücher.example/",
    "The URL's host xn--bcher-kva.example resolves to 169.254.169.254, a link-local address (this includes cloud metadata services), which cannot be used. HOOKGATE_ALLOWED_CIDRS can allow its range.",
    true,
  ],
];

const CREATE_ENDPOINT = `mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { __typename
  ... on CreateEndpointPayload { endpoint { id url } }
  ... on ValidationError { code message fieldErrors { path message } } } }`;
const UPDATE_ENDPOINT = `mutation($id: ID!, $i: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $i) { __typename
  ... on ValidationError { code message fieldErrors { path message } } } }`;
const REPLAY = `mutation($id: ID!, $url: String) { replayDelivery(id: $id, url: $url) { __typename
  ... on ValidationError { code message fieldErrors { path message } } } }`;
const PUBLISH = `mutation($i: PublishEventInput!) { publishEvent(input: $i) { __typename
  ... on PublishEventPayload { event { id } }
  ... on ValidationError { code message fieldErrors { path message } } } }`;
const TEST_ENDPOINT = `mutation($id: ID!, $t: String!) { testEndpoint(id: $id, eventType: $t) { __typename
  ... on ValidationError { code message fieldErrors { path message } } } }`;

type FieldErrors = { path: string; message: string | RegExp }[];

describe("input matrix (allowInsecureUrls=false)", () => {
  let h: TestHookgate;
  let endpointId: string;
  let deliveryId: string;
  const MAX_PAYLOAD = 1024;

  beforeAll(async () => {
    h = await startTestHookgate({
      dnsLookup: fakeLookup,
      config: { allowInsecureUrls: false, allowedCidrs: [], maxPayloadBytes: MAX_PAYLOAD },
    });
    const created = ok(
      await h.gql("mutation($i: CreateEventTypeInput!) { createEventType(input: $i) { __typename } }", {
        i: {
          name: "order.created",
          schema: {
            type: "object",
            required: ["amount"],
            additionalProperties: false,
            properties: { amount: { type: "integer", minimum: 0 }, note: { type: "string", maxLength: 5 } },
          },
        },
      }),
    );
    expect(created.createEventType.__typename).toBe("CreateEventTypePayload");
    for (const name of ["blob.stored", "legacy.thing"]) {
      ok(
        await h.gql("mutation($i: CreateEventTypeInput!) { createEventType(input: $i) { __typename } }", {
          i: { name },
        }),
      );
    }
    const legacy = await h.hookgate.app.prisma.eventType.findFirstOrThrow({
      where: { name: "legacy.thing" },
    });
    ok(
      await h.gql(
        "mutation($id: ID!) { updateEventType(id: $id, input: { deprecated: true }) { __typename } }",
        { id: legacy.id },
      ),
    );
    const endpoint = ok(
      await h.gql(CREATE_ENDPOINT, { i: { url: "https://public.example/hook", events: ["*"] } }),
    );
    endpointId = endpoint.createEndpoint.endpoint.id;
    const published = ok(await h.gql(PUBLISH, { i: { type: "blob.stored", payload: { n: 1 } } }));
    expect(published.publishEvent.__typename).toBe("PublishEventPayload");
    deliveryId = (await h.hookgate.app.prisma.delivery.findFirstOrThrow({ where: { endpointId } })).id;
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** Runs one mutation, expecting a ValidationError with exactly these field errors and no change anywhere. */
  async function refused(query: string, variables: Record<string, unknown>, expected: FieldErrors) {
    const res = await expectNothingChanged(h, () => h.gql(query, variables));
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const result = Object.values(res.data as Record<string, any>)[0];
    expect(result.__typename, JSON.stringify(result)).toBe("ValidationError");
    expect(result.code).toBe("VALIDATION_FAILED");
    expect(result.fieldErrors.map((e: { path: string }) => e.path)).toEqual(expected.map((e) => e.path));
    expected.forEach((e, i) => {
      if (typeof e.message === "string") expect(result.fieldErrors[i].message).toBe(e.message);
      else expect(result.fieldErrors[i].message).toMatch(e.message);
    });
    return result;
  }

  describe("endpoint URLs", () => {
    it.each(URL_ROWS.map(([url, message]) => ({ url, message })))("$url", async ({ url, message }) => {
      await refused(CREATE_ENDPOINT, { i: { url, events: ["*"] } }, [{ path: "input.url", message }]);
      await refused(UPDATE_ENDPOINT, { id: endpointId, i: { url } }, [{ path: "input.url", message }]);
      await refused(REPLAY, { id: deliveryId, url }, [{ path: "url", message }]);
    });

    it("accepts what the rows refuse for their stated reason (public address, any port, exactly 2048 characters, a name that does not resolve)", async () => {
      const base = "https://public.example/";
      const accepted = [
        "https://public.example:8443/hooks?x=1",
        `https://${PUBLIC_IP}:22/`,
        `${base}${"a".repeat(2048 - base.length)}`,
        "https://not-resolvable.example/",
      ];
      for (const url of accepted) {
        const before = (await countRows(h)).endpoints;
        const res = ok(await h.gql(CREATE_ENDPOINT, { i: { url, events: ["*"] } }));
        expect(res.createEndpoint.__typename, JSON.stringify(res)).toBe("CreateEndpointPayload");
        expect((await countRows(h)).endpoints).toBe(before + 1);
        await h.gql("mutation($id: ID!) { deleteEndpoint(id: $id) { __typename } }", {
          id: res.createEndpoint.endpoint.id,
        });
      }
    });
  });

  describe("event types", () => {
    it.each([
      {
        name: "unknown",
        events: ["no.such.type"],
        errors: [{ path: "input.events.0", message: "unknown event type no.such.type" }],
      },
      {
        name: "deprecated",
        events: ["legacy.thing"],
        errors: [{ path: "input.events.0", message: "event type legacy.thing is deprecated" }],
      },
      {
        name: "malformed, second entry",
        events: ["*", "Bad Name"],
        errors: [{ path: "input.events.1", message: /^"Bad Name" is not a valid filter: / }],
      },
      {
        name: "malformed prefix",
        events: ["bad..*"],
        errors: [{ path: "input.events.0", message: /^bad\.\.\* is not a valid filter: / }],
      },
      {
        name: "empty list",
        events: [],
        errors: [{ path: "input.events", message: "at least one event type filter is required" }],
      },
      {
        name: "101 filters",
        events: Array.from({ length: 101 }, () => "*"),
        errors: [{ path: "input.events", message: "at most 100 event type filters are allowed" }],
      },
    ])("endpoint events: $name", async ({ events, errors }) => {
      await refused(CREATE_ENDPOINT, { i: { url: "https://public.example/", events } }, errors);
      await refused(UPDATE_ENDPOINT, { id: endpointId, i: { events } }, errors);
    });

    it.each([
      { name: "unknown", type: "no.such.type", message: 'Unknown event type "no.such.type"' },
      { name: "deprecated", type: "legacy.thing", message: 'The event type "legacy.thing" is deprecated' },
      { name: "empty", type: "", message: "type must not be empty" },
    ])("publishEvent type: $name", async ({ type, message }) => {
      await refused(PUBLISH, { i: { type, payload: {} } }, [{ path: "input.type", message }]);
    });

    it("testEndpoint with an unknown event type", async () => {
      await refused(TEST_ENDPOINT, { id: endpointId, t: "no.such.type" }, [
        { path: "eventType", message: 'Unknown event type "no.such.type"' },
      ]);
    });
  });

  describe("custom headers", () => {
    const reserved = (name: string) => `The header ${name} is set by Hookgate and cannot be overridden.`;
    const LINE_BREAK = "A header value must not contain line breaks or NUL characters.";
    const TOKEN = "A header name may contain only letters, digits and !#$%&'*+-.^_`|~ (no spaces or colons).";
    it.each([
      {
        name: "CRLF in a value",
        headers: [{ name: "X-A", value: "1\r\nX-Injected: 1" }],
        path: "value",
        message: LINE_BREAK,
      },
      {
        name: "LF in a value",
        headers: [{ name: "X-A", value: "1\nX-Injected: 1" }],
        path: "value",
        message: LINE_BREAK,
      },
      {
        name: "CR in a value",
        headers: [{ name: "X-A", value: "1\rX" }],
        path: "value",
        message: LINE_BREAK,
      },
      {
        name: "NUL in a value",
        headers: [{ name: "X-A", value: "1\u0000" }],
        path: "value",
        message: LINE_BREAK,
      },
      {
        name: "non-Latin-1 value",
        headers: [{ name: "X-A", value: "€" }],
        path: "value",
        message: "A header value contains characters that cannot be sent in HTTP.",
      },
      {
        name: "value one past the limit",
        headers: [{ name: "X-A", value: "v".repeat(MAX_HEADER_VALUE_LENGTH + 1) }],
        path: "value",
        message: `A header value must be at most ${MAX_HEADER_VALUE_LENGTH} characters.`,
      },
      { name: "CRLF in a name", headers: [{ name: "X-A\r\nX-B", value: "1" }], path: "name", message: TOKEN },
      { name: "colon in a name", headers: [{ name: "X-A:", value: "1" }], path: "name", message: TOKEN },
      { name: "space in a name", headers: [{ name: "X A", value: "1" }], path: "name", message: TOKEN },
      {
        name: "empty name",
        headers: [{ name: "", value: "1" }],
        path: "name",
        message: "A header name must be 1 to 64 characters.",
      },
      ...[
        "Host",
        "Content-Length",
        "transfer-encoding",
        "Connection",
        "User-Agent",
        "Content-Type",
        "webhook-signature",
        "Webhook-Id",
        "hookgate-signature",
        "Proxy-Authorization",
      ].map((name) => ({
        name: `reserved ${name}`,
        headers: [{ name, value: "1" }],
        path: "name",
        message: reserved(name),
      })),
      {
        name: "duplicate (case-insensitive)",
        headers: [
          { name: "X-A", value: "1" },
          { name: "x-a", value: "2" },
        ],
        path: "name",
        index: 1,
        message: "The header x-a appears more than once.",
      },
    ])("$name", async ({ headers, path, message, ...rest }) => {
      const index = "index" in rest ? rest.index : 0;
      const errors = [{ path: `input.headers.${index}.${path}`, message }];
      await refused(
        CREATE_ENDPOINT,
        { i: { url: "https://public.example/", events: ["*"], headers } },
        errors,
      );
      await refused(UPDATE_ENDPOINT, { id: endpointId, i: { headers } }, errors);
    });
  });

  describe("payloads", () => {
    /** {"pad":"…"} of exactly `bytes` UTF-8 bytes, padded with `char`. */
    const sized = (bytes: number, char = "a") => {
      const overhead = Buffer.byteLength(JSON.stringify({ pad: "" }));
      const each = Buffer.byteLength(char);
      const n = Math.floor((bytes - overhead) / each);
      const pad = char.repeat(n) + "a".repeat(bytes - overhead - n * each);
      const payload = { pad };
      expect(Buffer.byteLength(JSON.stringify(payload))).toBe(bytes);
      return payload;
    };

    it.each([
      {
        name: "missing required property",
        payload: {},
        errors: [{ path: "input.payload", message: "payload must have required property 'amount'" }],
      },
      {
        name: "below minimum",
        payload: { amount: -1 },
        errors: [{ path: "input.payload.amount", message: "payload at /amount must be >= 0" }],
      },
      {
        name: "wrong type",
        payload: { amount: "12" },
        errors: [{ path: "input.payload.amount", message: "payload at /amount must be integer" }],
      },
      {
        name: "array instead of object",
        payload: [1],
        errors: [{ path: "input.payload", message: "payload must be object" }],
      },
      {
        name: "extra property",
        payload: { amount: 1, admin: true },
        errors: [{ path: "input.payload", message: "payload must NOT have additional properties" }],
      },
      {
        name: "string too long",
        payload: { amount: 1, note: "toolong" },
        errors: [
          { path: "input.payload.note", message: "payload at /note must NOT have more than 5 characters" },
        ],
      },
    ])("schema: $name", async ({ payload, errors }) => {
      await refused(PUBLISH, { i: { type: "order.created", payload } }, errors);
    });

    it.each([
      {
        name: "one byte past maxPayloadBytes",
        payload: () => sized(MAX_PAYLOAD + 1),
        message: `payload is ${MAX_PAYLOAD + 1} bytes as JSON; at most ${MAX_PAYLOAD} are allowed`,
      },
      {
        name: "past the limit in multi-byte characters (bytes, not characters, count)",
        payload: () => sized(MAX_PAYLOAD + 1, "é"),
        message: `payload is ${MAX_PAYLOAD + 1} bytes as JSON; at most ${MAX_PAYLOAD} are allowed`,
      },
      {
        name: "NUL character",
        payload: () => ({ s: "a\u0000b" }),
        message: "payload must not contain NUL (\\u0000) characters",
      },
      {
        name: "NUL in a key",
        payload: () => ({ "a\u0000": 1 }),
        message: "payload must not contain NUL (\\u0000) characters",
      },
      {
        name: "unpaired surrogate",
        payload: () => ({ s: "\ud800" }),
        message: "payload must not contain unpaired surrogate characters",
      },
    ])("$name", async ({ payload, message }) => {
      await refused(PUBLISH, { i: { type: "blob.stored", payload: payload() } }, [
        { path: "input.payload", message },
      ]);
    });

    it("a payload nested 50,000 levels deep (100 kB) is refused, not a crash", async () => {
      // Written by hand: JSON.stringify itself cannot serialise it.
      const deep = "[".repeat(50_000) + "]".repeat(50_000);
      const body = `{"query": ${JSON.stringify(PUBLISH)}, "variables": {"i": {"type": "blob.stored", "payload": ${deep}}}}`;
      const res = await expectNothingChanged(h, () =>
        rawRequest(h, { headers: jsonHeaders(h.adminKey), body }),
      );
      expect(res.status).toBe(200);
      expect(res.json.data.publishEvent).toMatchObject({
        __typename: "ValidationError",
        fieldErrors: [
          { path: "input.payload", message: expect.stringMatching(/^payload is not serialisable as JSON: /) },
        ],
      });
      // The server is still fine.
      expect(ok(await h.gql("{ viewer { keyId } }")).viewer.keyId).toMatch(/^key_/);
    });

    it("idempotencyKey one past its limit", async () => {
      await refused(PUBLISH, { i: { type: "blob.stored", payload: {}, idempotencyKey: "k".repeat(256) } }, [
        { path: "input.idempotencyKey", message: "idempotencyKey must be at most 255 characters" },
      ]);
    });

    it("accepts a payload of exactly maxPayloadBytes (ASCII and multi-byte)", async () => {
      for (const char of ["a", "é", "😀"]) {
        const before = (await countRows(h)).events;
        const res = ok(
          await h.gql(PUBLISH, { i: { type: "blob.stored", payload: sized(MAX_PAYLOAD, char) } }),
        );
        expect(res.publishEvent.__typename, JSON.stringify(res)).toBe("PublishEventPayload");
        expect((await countRows(h)).events).toBe(before + 1);
      }
    });
  });
});
