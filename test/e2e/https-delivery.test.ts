/**
 * HTTPS delivery end to end, with the strict URL policy: a real Hookgate process (insecure mode off, loopback
 * opened only through HOOKGATE_ALLOWED_CIDRS=127.0.0.0/8) that trusts a private CA the way an operator would,
 * through NODE_EXTRA_CA_CERTS (read by Node at process start, which is why this is a child process), and real
 * HTTPS receivers on 127.0.0.1 whose certificates the test makes with openssl:
 *   - signed by the trusted CA for localhost/127.0.0.1: delivered over TLS, SNI and Host right;
 *   - signed by another CA, expired, or for another host name: every attempt fails with an error naming
 *     the certificate problem, is recorded, and is retried.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, TEST_DB, type TestDatabase } from "../support/db.js";
import { type HookgateProcess, startHookgateProcess } from "../support/hookgate-process.js";
import { createTestPki, type HttpsReceiver, startHttpsReceiver, type TestPki } from "../support/tls.js";

const ADMIN_KEY = `admin-${randomBytes(24).toString("hex")}`;
const EVENT_TYPE = "tls.check";

let pki: TestPki;
let trustedCaFile: string;
let receivers: Record<"good" | "untrusted" | "expired" | "wrongHost", HttpsReceiver>;
let hg: HookgateProcess;
let database: TestDatabase | undefined;
let dataParent: string | undefined;

beforeAll(async () => {
  pki = createTestPki();
  const trusted = pki.ca("Hookgate test CA");
  const other = pki.ca("Some other CA");
  trustedCaFile = trusted.certFile;
  const localhost = "DNS:localhost,IP:127.0.0.1";
  receivers = {
    good: await startHttpsReceiver(trusted.issue(localhost)),
    untrusted: await startHttpsReceiver(other.issue(localhost)),
    expired: await startHttpsReceiver(
      trusted.issue(localhost, { start: "20200101000000Z", end: "20200201000000Z" }),
    ),
    wrongHost: await startHttpsReceiver(trusted.issue("DNS:hooks.example.com")),
  };

  const env: Record<string, string> = {
    NODE_EXTRA_CA_CERTS: trustedCaFile,
    HOOKGATE_ALLOW_INSECURE_URLS: "0",
    HOOKGATE_ALLOWED_CIDRS: "127.0.0.0/8",
    HOOKGATE_ADMIN_KEY: ADMIN_KEY,
    HOOKGATE_RETRY_SCHEDULE: "1s,1s,1s",
    HOOKGATE_RETRY_JITTER: "0",
  };
  if (TEST_DB === "postgres") {
    database = await createTestDatabase();
    env.DATABASE_URL = database.url!;
    env.HOOKGATE_ENCRYPTION_KEY = randomBytes(32).toString("base64");
  } else {
    dataParent = mkdtempSync(path.join(tmpdir(), "hookgate-https-"));
    env.HOOKGATE_DATA_DIR = path.join(dataParent, "data");
  }
  hg = await startHookgateProcess(env);
  const created = await hg.gql(
    ADMIN_KEY,
    `mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { __typename } }`,
    { input: { name: EVENT_TYPE } },
  );
  expect(created.data?.createEventType.__typename, JSON.stringify(created)).toBe("CreateEventTypePayload");
}, 300_000);

afterAll(async () => {
  await hg?.stop();
  await database?.close();
  for (const r of Object.values(receivers ?? {})) await r.close();
  pki?.remove();
  if (dataParent) rmSync(dataParent, { recursive: true, force: true });
});

async function createEndpoint(url: string): Promise<any> {
  const res = await hg.gql(
    ADMIN_KEY,
    `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { __typename
       ... on CreateEndpointPayload { endpoint { id } }
       ... on ValidationError { message fieldErrors { path message } } } }`,
    { input: { url, events: [EVENT_TYPE] } },
  );
  return res.data.createEndpoint;
}

async function endpointOk(url: string): Promise<string> {
  const res = await createEndpoint(url);
  expect(res.__typename, JSON.stringify(res)).toBe("CreateEndpointPayload");
  return res.endpoint.id;
}

async function publish(): Promise<string> {
  const res = await hg.gql(
    ADMIN_KEY,
    `mutation($input: PublishEventInput!) { publishEvent(input: $input) {
       __typename ... on PublishEventPayload { event { id } } } }`,
    { input: { type: EVENT_TYPE, payload: { over: "tls", n: randomBytes(4).toString("hex") } } },
  );
  expect(res.data?.publishEvent.__typename, JSON.stringify(res)).toBe("PublishEventPayload");
  return res.data.publishEvent.event.id;
}

interface DeliveryView {
  status: string;
  attemptCount: number;
  attempts: {
    attemptNumber: number;
    status: string;
    responseCode: number | null;
    errorMessage: string | null;
  }[];
}

async function deliveryOf(endpointId: string): Promise<DeliveryView | undefined> {
  const res = await hg.gql(
    ADMIN_KEY,
    `query($filter: DeliveryFilter) { deliveries(first: 5, filter: $filter) { edges { node {
       status attemptCount attempts(first: 20) { edges { node { attemptNumber status responseCode errorMessage } } }
     } } } }`,
    { filter: { endpointId } },
  );
  const node = res.data?.deliveries.edges[0]?.node;
  if (!node) return undefined;
  return { ...node, attempts: node.attempts.edges.map((e: any) => e.node).reverse() };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe(`HTTPS delivery from a hookgate process with the strict URL policy (${TEST_DB})`, {
  timeout: 90_000,
}, () => {
  it("refuses plain http and addresses outside HOOKGATE_ALLOWED_CIDRS: insecure mode is off", async () => {
    for (const url of [`http://127.0.0.1:${receivers.good.port}/hook`, "https://10.20.30.40/hook"]) {
      const res = await createEndpoint(url);
      expect(res.__typename, url).toBe("ValidationError");
      expect(res.fieldErrors.map((f: any) => f.path)).toEqual(["input.url"]);
    }
  });

  it("the private CA is not trusted without NODE_EXTRA_CA_CERTS (this test process has none)", async () => {
    const agent = new Agent();
    try {
      await expect(
        request(`https://localhost:${receivers.good.port}/`, {
          method: "POST",
          body: "x",
          dispatcher: agent,
        }),
      ).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    } finally {
      await agent.close();
    }
  });

  it("delivers over TLS to a certificate of the CA named in NODE_EXTRA_CA_CERTS, with SNI and Host right", async () => {
    const byName = await endpointOk(`https://localhost:${receivers.good.port}/by-name`);
    const byIp = await endpointOk(`https://127.0.0.1:${receivers.good.port}/by-ip`);
    const eventId = await publish();
    for (const id of [byName, byIp]) {
      const d = await until("a delivery over TLS", async () => {
        const v = await deliveryOf(id);
        return v?.status === "SUCCEEDED" ? v : undefined;
      });
      expect(d.attempts).toEqual([
        { attemptNumber: 1, status: "SUCCEEDED", responseCode: 200, errorMessage: null },
      ]);
    }
    const got = receivers.good.requests.filter((r) => r.headers["webhook-id"] === eventId);
    const named = got.find((r) => r.url === "/by-name");
    const literal = got.find((r) => r.url === "/by-ip");
    expect(named).toMatchObject({ servername: "localhost", host: `localhost:${receivers.good.port}` });
    // No SNI for an IP address (RFC 6066); the certificate's IP entry is what matched.
    expect(literal).toMatchObject({ servername: false, host: `127.0.0.1:${receivers.good.port}` });
    for (const r of [named!, literal!]) {
      expect(r.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(JSON.parse(r.body).id).toBe(eventId);
    }
  });

  const refused = [
    [
      "a certificate of a CA it does not trust",
      "untrusted",
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/,
    ],
    ["an expired certificate", "expired", /CERT_HAS_EXPIRED|certificate has expired/],
    ["a certificate for another host name", "wrongHost", /ERR_TLS_CERT_ALTNAME_INVALID|does not match/],
  ] as const;
  for (const [what, which, error] of refused) {
    it(`fails each attempt against ${what} with that error recorded, and retries`, async () => {
      const receiver = receivers[which];
      const id = await endpointOk(`https://localhost:${receiver.port}/hook`);
      await publish();
      const d = await until("two failed attempts", async () => {
        const v = await deliveryOf(id);
        return v && v.attempts.length >= 2 ? v : undefined;
      });
      expect(["RETRYING", "SENDING", "FAILED"]).toContain(d.status);
      for (const [i, a] of d.attempts.entries()) {
        expect(a.attemptNumber).toBe(i + 1);
        expect(a.status).toBe("FAILED");
        expect(a.responseCode).toBeNull();
        expect(a.errorMessage).toMatch(error);
      }
      // The handshake failed: no request ever reached the receiver.
      expect(receiver.requests).toEqual([]);
    });
  }
});
