import { describe, expect, it } from "vitest";
import { SIGNAL_BATCH_MAX, SignalSender } from "../../src/db/signal-sender.js";
import { TEST_DB, withTestDatabase } from "../support/db.js";

const CHANNEL = "hookgate_test_signals";

describe(`signals sent after commit (${TEST_DB})`, () => {
  it("sends what one tick queued as one statement, in order, to every listener", async () => {
    await withTestDatabase(async ({ db }) => {
      const got: string[] = [];
      const unlisten = await db.listen(CHANNEL, (p) => got.push(p));
      const statements: string[] = [];
      const sender = new SignalSender(async (sql, params, name) => {
        statements.push(sql);
        return db.query(sql, params, name);
      });
      for (let i = 0; i < 25; i++) sender.send(CHANNEL, `s${i}`);
      await sender.flush();
      expect(statements).toHaveLength(1);
      const deadline = Date.now() + 5_000;
      while (got.length < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(Array.from({ length: 25 }, (_, i) => `s${i}`));
      await unlisten();
    });
  });

  it("commits its batch with synchronous_commit off, for that transaction only", async () => {
    await withTestDatabase(async ({ db }) => {
      // The sender's statement runs on one connection inside an explicit transaction whose session default is
      // synchronous_commit=on (both databases), so the setting seen before COMMIT is the statement's doing and
      // the one seen after it shows whether it leaked into the session.
      const seen = await db.withConnection(async (query) => {
        await query("SET synchronous_commit = on");
        let answer: unknown;
        let inside = "";
        const sender = new SignalSender(async (sql, params) => {
          await query("BEGIN");
          answer = await query(sql, params);
          inside = (await query<{ synchronous_commit: string }>("SHOW synchronous_commit"))[0]!
            .synchronous_commit;
          await query("COMMIT");
        });
        sender.send(CHANNEL, "x");
        await sender.flush();
        const after = (await query<{ synchronous_commit: string }>("SHOW synchronous_commit"))[0]!
          .synchronous_commit;
        await query("RESET synchronous_commit");
        return { sent: (answer as { sent: number }[])[0]!.sent, inside, after };
      });
      expect(seen).toEqual({ sent: 1, inside: "off", after: "on" });
    });
  });

  it("splits a large queue into batches of at most SIGNAL_BATCH_MAX", async () => {
    const sizes: number[] = [];
    const sender = new SignalSender(async (_sql, params) => {
      sizes.push((JSON.parse(params[0] as string) as [string, string][]).length);
    });
    for (let i = 0; i < SIGNAL_BATCH_MAX * 2 + 1; i++) sender.send("c", String(i));
    await sender.flush();
    expect(sizes).toEqual([SIGNAL_BATCH_MAX, SIGNAL_BATCH_MAX, 1]);
  });

  it("reports a failed batch, goes on with the next, and sends nothing after close", async () => {
    const errors: Error[] = [];
    const sent: string[][] = [];
    let fail = true;
    const sender = new SignalSender(
      async (_sql, params) => {
        if (fail) {
          fail = false;
          throw new Error("connection lost");
        }
        sent.push((JSON.parse(params[0] as string) as [string, string][]).map((p) => p[1]));
      },
      (err) => errors.push(err),
    );
    sender.send("c", "lost");
    await sender.flush();
    sender.send("c", "kept");
    await sender.close();
    sender.send("c", "after close");
    await sender.flush();
    expect(errors.map((e) => e.message)).toEqual(["connection lost"]);
    expect(sent).toEqual([["kept"]]);
  });
});
