import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";

const LIMIT = 3;

describe("failed authentications are throttled per client address", () => {
  let h: TestHookgate;
  beforeAll(async () => {
    h = await startTestHookgate({ config: { authFailureLimitPerMinute: LIMIT } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it(`refuses an address after ${LIMIT} failures, before any key lookup, then lets nothing through`, async () => {
    // A valid key and requests without a key do not count.
    ok(await h.gql("{ viewer { keyId } }"));
    for (let i = 0; i < 5; i++) {
      const anonymous = await h.gql("{ viewer { keyId } }", undefined, null);
      expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    }
    for (let i = 0; i < LIMIT; i++) {
      const bad = await h.gql("{ viewer { keyId } }", undefined, `hk_guess_${i}`);
      expect(bad.status).toBe(200);
      expect(bad.errors?.[0]).toMatchObject({
        message: "Invalid API key",
        extensions: { code: "UNAUTHENTICATED" },
      });
    }
    // From here on the address is refused before its key is looked up: count the lookups (authenticate's
    // query on api_keys) through the app's own database handle.
    const db = h.hookgate.app.db;
    const realQuery = db.query.bind(db);
    let lookups = 0;
    db.query = ((sql: string, ...rest: unknown[]) => {
      if (/FROM api_keys k/.test(sql)) lookups++;
      return (realQuery as (...a: unknown[]) => Promise<unknown[]>)(sql, ...rest);
    }) as typeof db.query;
    const blocked = await h.gql("{ viewer { keyId } }", undefined, "hk_guess_next");
    expect(blocked.status).toBe(429);
    expect(blocked.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
    const said =
      /^Too many failed authentications from this address: try again in (\d+) s \(HOOKGATE_AUTH_FAILURE_LIMIT\)$/.exec(
        blocked.errors?.[0]?.message ?? "",
      );
    expect(said, blocked.errors?.[0]?.message).not.toBeNull();
    // The header says what the message says.
    expect(blocked.headers.get("retry-after")).toBe(said![1]);
    expect(blocked.errors?.[0]?.extensions?.retryAfterSeconds).toBe(Number(said![1]));
    // The address is refused whatever key it presents for the rest of the window.
    const valid = await h.gql("{ viewer { keyId } }");
    expect(valid.status).toBe(429);
    expect(lookups).toBe(0);
    // The counter counts: a lookup the throttle does not cover (another address's) is seen.
    await h.hookgate.app.db.query("SELECT k.id FROM api_keys k LIMIT 0");
    expect(lookups).toBe(1);
    // graphql-ws connections from the address are refused too.
    const client = createClient({
      url: h.graphqlUrl.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${h.adminKey}` },
      retryAttempts: 0,
      lazy: false,
    });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      client.on("closed", (e) => resolve(e as { code: number; reason: string }));
    });
    await client.dispose();
    expect(lookups).toBe(1);
    db.query = realQuery;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/^Too many failed authentications from this address: try again in \d+ s/);
  });
});
