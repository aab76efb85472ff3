/**
 * Delivery-time SSRF and secret hygiene, with the real dispatcher and real receivers on
 * 127.0.0.1. Hookgate runs with allowInsecureUrls=false; DNS is injected twice: the app's
 * lookup (App.dnsLookup, used when an endpoint is created) answers a public address, the
 * dispatcher's (DispatcherOptions.lookup) answers what the attacker wants at delivery time
 * (DNS rebinding).
 */

import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { createDispatcher, type Dispatcher } from "../../src/dispatcher/index.js";
import { liveUpdates } from "../../src/domain/live.js";
import type { LookupFn } from "../../src/security/url-policy.js";
import { zoneLookup } from "../support/dns.js";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { snapshotRows } from "../support/matrix.js";
import { untilSubscribed, wsClient, wsSubscribe } from "./live-fixtures.js";

const PUBLIC_IP = "93.184.215.14";

interface Receiver {
  port: number;
  connections: number;
  requests: { url: string; headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

async function startReceiver(
  respond: (res: import("node:http").ServerResponse, req: import("node:http").IncomingMessage) => void,
): Promise<Receiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      receiver.requests.push({
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      respond(res, req);
    });
  });
  server.on("connection", () => {
    receiver.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const receiver: Receiver = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** A test Hookgate whose logger captures every line (level trace). */
async function startCapturingHookgate(
  config: Partial<Config>,
  dnsLookup: LookupFn,
): Promise<TestHookgate & { logs: string[] }> {
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const h = await startTestHookgate({
    dnsLookup,
    logger: pino({ level: "trace" }, stream),
    config: { logLevel: "trace", retryScheduleMs: [3_600_000], retryJitter: 0, ...config },
  });
  return Object.assign(h, { logs });
}

const CREATE_ENDPOINT = `mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { __typename
  ... on CreateEndpointPayload { endpoint { id } secret } ... on Error { message } } }`;
const PUBLISH = `mutation($i: PublishEventInput!) { publishEvent(input: $i) { __typename
  ... on PublishEventPayload { event { id } deliveryCount } ... on Error { message } } }`;

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setup(h: TestHookgate, type: string) {
  ok(
    await h.gql("mutation($i: CreateEventTypeInput!) { createEventType(input: $i) { __typename } }", {
      i: { name: type },
    }),
  );
}

async function createEndpoint(
  h: TestHookgate,
  input: Record<string, unknown>,
): Promise<{ id: string; secret: string }> {
  const res = ok(await h.gql(CREATE_ENDPOINT, { i: input })).createEndpoint;
  if (res.__typename !== "CreateEndpointPayload") throw new Error(`createEndpoint: ${JSON.stringify(res)}`);
  return { id: res.endpoint.id, secret: res.secret };
}

/** Publishes to one endpoint (its filter is the event type) and waits for the first attempt row. */
async function publishAndWaitForAttempt(h: TestHookgate, type: string, endpointId: string) {
  const published = ok(await h.gql(PUBLISH, { i: { type, payload: { hello: "world" } } })).publishEvent;
  expect(published.__typename).toBe("PublishEventPayload");
  const prisma = h.hookgate.app.prisma;
  const delivery = await prisma.delivery.findFirstOrThrow({
    where: { eventId: published.event.id, endpointId },
  });
  const attempt = await waitFor("the first attempt", () =>
    prisma.attempt.findFirst({ where: { deliveryId: delivery.id } }),
  );
  return { delivery, attempt };
}

describe("delivery-time SSRF (allowInsecureUrls=false, no allowed CIDRs)", () => {
  let h: TestHookgate;
  let dispatcher: Dispatcher;
  let receiver: Receiver;

  beforeAll(async () => {
    h = await startCapturingHookgate(
      { allowInsecureUrls: false, allowedCidrs: [] },
      zoneLookup({
        "rebind.example": [PUBLIC_IP],
        "mixed.example": [PUBLIC_IP],
        "literal.example": [PUBLIC_IP],
      }),
    );
    receiver = await startReceiver((res) => res.writeHead(200).end("ok"));
    dispatcher = createDispatcher(h.hookgate.app, {
      lookup: zoneLookup({ "rebind.example": ["127.0.0.1"], "mixed.example": [PUBLIC_IP, "127.0.0.1"] }),
    });
    await dispatcher.start();
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await h?.stop();
  });

  it.each([
    {
      name: "a name that resolved to a public address at creation and to 127.0.0.1 at delivery",
      host: "rebind.example",
      storedHost: null,
      error: "Refused to connect to rebind.example (127.0.0.1): the address is in a blocked range (loopback)",
    },
    {
      name: "a name answering a public AND a loopback address at delivery",
      host: "mixed.example",
      storedHost: null,
      error: "Refused to connect to mixed.example (127.0.0.1): the address is in a blocked range (loopback)",
    },
    {
      name: "a stored IP-literal url that the policy now forbids",
      host: "literal.example",
      storedHost: "127.0.0.1",
      error: "Refused to connect to 127.0.0.1: the address is in a blocked range (loopback)",
    },
  ])("$name → zero connections, attempt failed with a clear error", async ({ host, storedHost, error }) => {
    const type = `ssrf.${host.split(".")[0]}`;
    await setup(h, type);
    const endpoint = await createEndpoint(h, {
      url: `https://${host}:${receiver.port}/hook`,
      events: [type],
    });
    if (storedHost) {
      // As if the row predated the policy (created with allowInsecureUrls=1, or another version).
      await h.hookgate.app.prisma.endpoint.update({
        where: { id: endpoint.id },
        data: { url: `https://${storedHost}:${receiver.port}/hook` },
      });
    }
    const { attempt } = await publishAndWaitForAttempt(h, type, endpoint.id);
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toEqual([]);
    expect(attempt).toMatchObject({ status: "FAILED", responseCode: null, attemptNumber: 1 });
    expect(attempt.errorMessage).toContain(error);
  });
});

describe("redirects and secrets (allowInsecureUrls=false, 127.0.0.1/32 allowed)", () => {
  let h: TestHookgate & { logs: string[] };
  let dispatcher: Dispatcher;
  const receivers: Receiver[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    h = await startCapturingHookgate(
      { allowInsecureUrls: false, allowedCidrs: ["127.0.0.1/32"] },
      zoneLookup({ "hop.example": [PUBLIC_IP], "hooks.example": [PUBLIC_IP] }),
    );
    dispatcher = createDispatcher(h.hookgate.app, {
      lookup: zoneLookup({ "hop.example": ["127.0.0.1"], "hooks.example": ["127.0.0.1"] }),
    });
    await dispatcher.start();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  afterAll(async () => {
    await dispatcher?.stop();
    for (const r of receivers) await r.close();
    await h?.stop();
  });

  async function receiver(respond: Parameters<typeof startReceiver>[0]) {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  }

  /**
   * Endpoints must be https (allowInsecureUrls=false) but the receivers speak plain HTTP: the
   * test creates the endpoint through the API and then points its stored url at http://.
   */
  async function endpointTo(host: string, port: number, type: string, extra: Record<string, unknown> = {}) {
    await setup(h, type);
    const endpoint = await createEndpoint(h, {
      url: `https://${host}:${port}/hook`,
      events: [type],
      ...extra,
    });
    await h.hookgate.app.prisma.endpoint.update({
      where: { id: endpoint.id },
      data: { url: `http://${host}:${port}/hook` },
    });
    return endpoint;
  }

  it.each([301, 302, 303, 307, 308])("a %i to another allowed receiver is not followed", async (code) => {
    const target = await receiver((res) => res.writeHead(200).end("stolen"));
    const location = `http://127.0.0.1:${target.port}/steal`;
    const hop = await receiver((res) => res.writeHead(code, { location }).end());
    const type = `redirect.r${code}`;
    const endpoint = await endpointTo("hop.example", hop.port, type);
    const { attempt } = await publishAndWaitForAttempt(h, type, endpoint.id);
    expect(hop.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
    expect(attempt).toMatchObject({ status: "FAILED", responseCode: code });
    expect(attempt.errorMessage).toBe(`Redirect (${code}) not followed (location: ${location})`);
  });

  it("never shows the signing secret or sensitive header values in attempts, queries, subscription payloads or logs", async () => {
    const signingSecret = `known-signing-secret-${randomBytes(8).toString("hex")}`;
    const authValue = `Bearer hdr-${randomBytes(12).toString("hex")}`;
    const tokenValue = `tok-${randomBytes(12).toString("hex")}`;
    const secrets = [signingSecret, authValue, authValue.slice(7), tokenValue];
    const target = await receiver((res) => res.writeHead(500, { "content-type": "text/plain" }).end("nope"));
    const type = "secret.check";

    // A live subscriber sees every update the attempt produces.
    const client = wsClient(h.graphqlUrl, h.adminKey);
    closers.push(async () => {
      await client.dispose();
    });
    const live = wsSubscribe(
      client,
      `subscription { deliveryUpdated { delivery { id status } attempt { url requestHeaders requestBody responseBody errorMessage } } }`,
    );
    await untilSubscribed(liveUpdates(h.hookgate.app.db), 1);

    const endpoint = await endpointTo("hooks.example", target.port, type, {
      secret: signingSecret,
      headers: [
        { name: "Authorization", value: authValue },
        { name: "X-Api-Token", value: tokenValue },
        { name: "X-Plain", value: "visible" },
      ],
    });
    expect(endpoint.secret).toBe(signingSecret);
    const { delivery } = await publishAndWaitForAttempt(h, type, endpoint.id);

    // The receiver did get them: they are real and were sent.
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]!.headers.authorization).toBe(authValue);
    expect(target.requests[0]!.headers["x-api-token"]).toBe(tokenValue);
    const updates = await waitFor("a live update with the attempt", async () =>
      live.results.results.some((r) => r.data?.deliveryUpdated?.attempt) ? live.results.results : null,
    );

    const attempts = ok(
      await h.gql(
        `query($d: ID!) { attempts(filter: { deliveryId: $d }) { edges { node {
          url status responseCode responseBody requestBody requestHeaders errorMessage } } } }`,
        { d: delivery.id },
      ),
    ).attempts.edges.map((e: { node: unknown }) => e.node);
    expect(attempts).toHaveLength(1);
    expect(attempts[0].requestHeaders).toMatchObject({
      authorization: "[REDACTED]",
      "x-api-token": "[REDACTED]",
      "x-plain": "visible",
    });
    const endpointView = ok(
      await h.gql(
        "query($id: ID!) { endpoint(id: $id) { url headers { name value } secrets { fingerprint } } }",
        {
          id: endpoint.id,
        },
      ),
    ).endpoint;
    expect(endpointView.headers).toContainEqual({ name: "Authorization", value: "[REDACTED]" });

    // An error message about a header does not echo its value either.
    const refused = ok(
      await h.gql(CREATE_ENDPOINT, {
        i: {
          url: "https://hooks.example/",
          events: [type],
          headers: [{ name: "Authorization", value: `${authValue}\r\n` }],
        },
      }),
    ).createEndpoint;
    expect(refused.__typename).toBe("ValidationError");

    const haystacks: Record<string, string> = {
      "attempt rows": JSON.stringify(await h.database.db.query("SELECT to_jsonb(a) AS row FROM attempts a")),
      "every table (secrets are encrypted at rest)": JSON.stringify(await snapshotRows(h)),
      "attempts query": JSON.stringify(attempts),
      "endpoint query": JSON.stringify(endpointView),
      "subscription payloads": JSON.stringify(updates),
      "validation error": JSON.stringify(refused),
      logs: h.logs.join(""),
    };
    expect(h.logs.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets) expect(text.includes(secret), `${where} contains a secret`).toBe(false);
    }
  });
});
