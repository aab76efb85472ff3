import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../src/verify.js";
import { createEventType, FAST, type Receiver, startReceiver } from "../integration/delivery-fixtures.js";
import { cliRunner, json } from "../support/cli.js";
import { startTestHookgate, type TestHookgate } from "../support/hookgate.js";

// `hookgate endpoints ...` as a child process against a real Hookgate with its dispatcher (PGlite and
// PostgreSQL): a test delivery really arrives, signed with the secret the CLI printed.

describe("hookgate endpoints", { timeout: 240_000 }, () => {
  let h: TestHookgate;
  let receiver: Receiver;
  let cli: ReturnType<typeof cliRunner>;

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: FAST });
    receiver = await startReceiver();
    cli = cliRunner(h.url, h.adminKey);
    await createEventType(h, "invoice.paid");
    await createEventType(h, "order.created");
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.stop();
  });

  it("create prints the endpoint and its secret once; list and get (by id and by uid) never show it", async () => {
    const made = await cli([
      "endpoints",
      "create",
      receiver.url,
      "--events",
      "invoice.*,order.created",
      "--uid",
      "acme-main",
      "--header",
      "X-Team: billing",
      "--description",
      "Acme's main endpoint",
    ]);
    expect(made.code, made.stderr).toBe(0);
    const secret = /│ secret\s+│ (whsec_\S+)\s+│/.exec(made.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(made.stderr).toBe("the signing secret is shown only this once: store it now\n");
    const id = /│ id\s+│ (ep_\S+)\s+│/.exec(made.stdout)![1]!;

    const table = await cli(["endpoints", "list"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(
        `│ ${id}\\s+│ acme-main\\s+│ ${receiver.url.replace(/\//g, "\\/")}\\s+│ invoice\\.\\*, order\\.created\\s+│ ENABLED`,
      ),
    );
    const byUid = json(await cli(["endpoints", "get", "--uid", "acme-main", "--json"]));
    expect(byUid).toMatchObject({ id, uid: "acme-main", headers: [{ name: "X-Team", value: "billing" }] });
    const byId = await cli(["endpoints", "get", id]);
    expect(byId.stdout).toMatch(/│ description\s+│ Acme's main endpoint\s+│/);
    expect(byId.stdout).toMatch(/│ secrets\s+│ whsec_\S{4}…\s+│/);
    for (const out of [table.stdout, byId.stdout, JSON.stringify(byUid)]) expect(out).not.toContain(secret);

    // endpoints test: the delivery arrives, signed with the printed secret.
    const tested = json(
      await cli(["endpoints", "test", "--uid", "acme-main", "--event-type", "invoice.paid", "--json"]),
    );
    expect(tested).toMatchObject({
      endpointId: id,
      eventType: "invoice.paid",
      id: expect.stringMatching(/^dlv_/),
    });
    await receiver.waitFor(1, 60_000);
    const req = receiver.requests[0]!;
    expect(verifyWebhook({ secret: secret!, headers: req.headers, body: req.body }).form).toBe("standard");
  });

  it("update, rotate-secret (new secret once, the old one in its grace period) and delete", async () => {
    const made = json(
      await cli(["endpoints", "create", receiver.url, "--events", "invoice.paid", "--uid", "rot", "--json"]),
    );
    const { id } = made.endpoint;
    const updated = json(
      await cli([
        "endpoints",
        "update",
        "--uid",
        "rot",
        "--events",
        "order.*",
        "--rate-limit",
        "7",
        "--disable",
        "--json",
      ]),
    );
    expect(updated).toMatchObject({ id, events: ["order.*"], rateLimitPerSecond: 7, status: "DISABLED" });
    const ids = async (...args: string[]) =>
      json(await cli(["endpoints", "list", ...args, "--json"])).map((e: { id: string }) => e.id);
    expect(await ids("--status", "disabled")).toEqual([id]);
    expect(await ids("--event-type", "order.created")).toContain(id);
    expect(await ids("--event-type", "invoice.paid")).not.toContain(id);
    expect(await ids("--uid", "rot")).toEqual([id]);
    const again = json(await cli(["endpoints", "update", id, "--enable", "--rate-limit", "none", "--json"]));
    expect(again).toMatchObject({ status: "ENABLED", rateLimitPerSecond: null });

    const rotated = json(
      await cli([
        "endpoints",
        "rotate-secret",
        id,
        "--secret",
        "a-new-secret-of-32-characters!!",
        "--grace",
        "1h",
        "--json",
      ]),
    );
    expect(rotated.secret).toBe("a-new-secret-of-32-characters!!");
    expect(rotated.endpoint.secrets).toHaveLength(2);
    const until = Date.parse(rotated.endpoint.secrets[1].expiresAt) - Date.now();
    expect(until).toBeGreaterThan(55 * 60_000);
    expect(until).toBeLessThanOrEqual(3600_000);

    const table = await cli(["endpoints", "rotate-secret", "--uid", "rot"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ secret\s+│ whsec_\S+\s+│/);
    expect(table.stderr).toBe("the signing secret is shown only this once: store it now\n");

    const deleted = await cli(["endpoints", "delete", "--uid", "rot"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    // The uid is released on delete (a new endpoint may take it).
    expect(deleted.stdout).toMatch(new RegExp(`│ ${id}\\s+│\\s+│ \\S+\\s+│ \\d{4}-`));
    const listed = json(await cli(["endpoints", "list", "--json"])).map((e: { id: string }) => e.id);
    expect(listed).not.toContain(id);
    const withDeleted = json(await cli(["endpoints", "list", "--include-deleted", "--json"]));
    expect(withDeleted.find((e: { id: string }) => e.id === id).deletedAt).not.toBeNull();
  });

  it("--upsert creates once (secret shown) and replaces after (no secret)", async () => {
    const first = json(
      await cli([
        "endpoints",
        "create",
        receiver.url,
        "--events",
        "invoice.paid",
        "--uid",
        "up",
        "--upsert",
        "--json",
      ]),
    );
    expect(first).toMatchObject({ created: true, secret: expect.stringMatching(/^whsec_/) });
    const second = json(
      await cli([
        "endpoints",
        "create",
        receiver.url,
        "--events",
        "order.*",
        "--uid",
        "up",
        "--upsert",
        "--json",
      ]),
    );
    expect(second).toMatchObject({
      created: false,
      secret: null,
      endpoint: { id: first.endpoint.id, events: ["order.*"] },
    });
  });

  it("typed errors and bad input are one line with a non-zero exit", async () => {
    const insecure = await cli(["endpoints", "create", "ftp://example.com/x", "--events", "a.b"]);
    expect(insecure).toMatchObject({ code: 1, stdout: "" });
    expect(insecure.stderr).toMatch(/^hookgate: VALIDATION_FAILED: input\.url: .+\n$/);

    const missing = await cli(["endpoints", "get", "ep_01ZZZZZZZZZZZZZZZZZZZZZZZZ"]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: "hookgate: NOT_FOUND: endpoint ep_01ZZZZZZZZZZZZZZZZZZZZZZZZ not found\n",
    });
    const missingUid = await cli(["endpoints", "delete", "--uid", "nobody"]);
    expect(missingUid.code).toBe(1);
    expect(missingUid.stderr).toMatch(/^hookgate: NOT_FOUND: .+\n$/);

    const grace = await cli(["endpoints", "rotate-secret", "--uid", "acme-main", "--grace", "8d"]);
    expect(grace.code).toBe(1);
    expect(grace.stderr).toMatch(/^hookgate: VALIDATION_FAILED: input\.gracePeriodSeconds: .+\n$/);

    const both = await cli(["endpoints", "get", "ep_x", "--uid", "y"]);
    expect(both).toMatchObject({ code: 2, stderr: "hookgate: give the endpoint's id or --uid, not both\n" });
    const neither = await cli(["endpoints", "delete"]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/^hookgate: which endpoint\? /);
    const nothing = await cli(["endpoints", "update", "--uid", "acme-main"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^hookgate: nothing to change: /);
    const header = await cli(["endpoints", "update", "--uid", "acme-main", "--header", "no-colon"]);
    expect(header).toMatchObject({
      code: 2,
      stderr: 'hookgate: --header: expected "Name: value", got "no-colon"\n',
    });
    const rate = await cli(["endpoints", "update", "--uid", "acme-main", "--rate-limit", "fast"]);
    expect(rate.code).toBe(2);
    const upsert = await cli(["endpoints", "create", receiver.url, "--events", "a.b", "--upsert"]);
    expect(upsert.code).toBe(2);

    const closed = CLOSED_PORT;
    const unreachable = await cli(["endpoints", "list"], {
      env: { HOOKGATE_URL: `http://127.0.0.1:${closed}` },
    });
    expect(unreachable).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `hookgate: cannot reach Hookgate at http://127.0.0.1:${closed}: ECONNREFUSED (is it running? --url or HOOKGATE_URL)\n`,
    });

    // Something that is not Hookgate answers JSON without `data`: named, not a TypeError.
    const other = await startReceiver((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end('{"status":"ok"}');
    });
    try {
      const notHookgate = await cli(["endpoints", "list"], { env: { HOOKGATE_URL: other.url } });
      expect(notHookgate).toMatchObject({ code: 1, stdout: "" });
      expect(notHookgate.stderr).toMatch(
        /^hookgate: (ERROR: )?HTTP 200 with no GraphQL data from .*\/graphql/,
      );
    } finally {
      await other.close();
    }

    for (const sub of ["create", "list", "get", "update", "delete", "rotate-secret", "test"]) {
      const help = await cli(["endpoints", sub, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: hookgate endpoints ${sub}`);
    }
  });
});

/**
 * A loopback port nothing listens on: 4, below the ephemeral range the tests' servers get (port 0) and
 * not on fetch's list of blocked ports. A port just closed is not safe: in a full run another test's
 * server took it in between and answered.
 */
const CLOSED_PORT = 4;
