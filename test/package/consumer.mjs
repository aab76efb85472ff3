// A user's program, run from a fresh project that installed the packed tarball: it imports
// hookgate/client and hookgate/verify by package name (plain Node ESM), receives deliveries on its own
// node:http server, and prints what it saw as one JSON line. test/e2e/package.test.ts drives it.
import http from "node:http";
import readline from "node:readline";
import { createHookgateClient, HookgateClientError } from "hookgate/client";
import { verifyWebhook } from "hookgate/verify";

const url = process.env.HOOKGATE_URL;
const apiKey = process.env.HOOKGATE_API_KEY;
const out = {};
let secret = "";
const verified = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    try {
      verified.push(verifyWebhook({ secret, headers: req.headers, body: Buffer.concat(chunks) }).id);
      res.writeHead(204).end();
    } catch (err) {
      verified.push(`refused: ${err.code}`);
      res.writeHead(400).end();
    }
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;

const client = createHookgateClient({ url, apiKey });
try {
  const et = await client.CreateEventType({ input: { name: "pkg.ping" } });
  out.eventType = et.createEventType.__typename;
  const bad = await client.CreateEndpoint({ input: { url: "ftp://nope", events: [] } });
  out.invalid =
    bad.createEndpoint.__typename === "ValidationError"
      ? bad.createEndpoint.fieldErrors.map((f) => f.path)
      : bad.createEndpoint.__typename;
  const created = await client.CreateEndpoint({ input: { url: hookUrl, events: ["pkg.*"] } });
  if (created.createEndpoint.__typename !== "CreateEndpointPayload") throw new Error(JSON.stringify(created));
  secret = created.createEndpoint.secret;
  const endpointId = created.createEndpoint.endpoint.id;

  const updates = client.deliveryUpdated({ endpointId })[Symbol.asyncIterator]();
  const first = updates.next();
  // The test answers once the server has registered the subscription.
  process.stdout.write("subscribed\n");
  const stdin = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => stdin.once("line", resolve));
  stdin.close();
  process.stdin.destroy();

  const published = await client.PublishEvent({ input: { type: "pkg.ping", payload: { n: 1 } } });
  if (published.publishEvent.__typename !== "PublishEventPayload") throw new Error(JSON.stringify(published));
  out.eventId = published.publishEvent.event.id;
  out.statuses = [];
  for (let next = await first; !next.done; next = await updates.next()) {
    out.statuses.push(next.value.delivery.status);
    if (next.value.delivery.status === "SUCCEEDED" || out.statuses.length > 10) break;
  }
  await updates.return?.();
  out.verified = verified;

  const wrong = createHookgateClient({ url, apiKey: "hk_wrong" });
  out.httpAuth = await wrong.Viewer().then(
    () => "accepted",
    (e) => (e instanceof HookgateClientError ? e.code : String(e)),
  );
  try {
    for await (const _ of wrong.deliveryUpdated()) break;
    out.wsAuth = "accepted";
  } catch (e) {
    out.wsAuth = e instanceof HookgateClientError ? e.code : String(e);
  }
  await wrong.close();
} finally {
  await client.close();
  receiver.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
