// A webhook receiver with Express that verifies every delivery with hookgate/verify.
//
//   WEBHOOK_SECRET=whsec_... PORT=3000 node examples/receiver-express.mjs
//
// The route reads the body raw (express.raw): the signature covers the exact bytes sent, so it must be
// verified before any JSON parsing. Prints `verified <event id> <type> <data>` per delivery (204), or
// `refused <code>` (400).
import express from "express";
import { verifyWebhook, WebhookVerificationError } from "hookgate/verify";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  process.stderr.write("receiver: set WEBHOOK_SECRET to the endpoint's signing secret\n");
  process.exit(2);
}

const app = express();
app.post("/webhooks", express.raw({ type: "application/json", limit: "1mb" }), (req, res) => {
  try {
    const { id } = verifyWebhook({ secret, headers: req.headers, body: req.body });
    const event = JSON.parse(req.body.toString("utf8"));
    process.stdout.write(`verified ${id} ${event.type} ${JSON.stringify(event.data)}\n`);
    res.status(204).end();
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    process.stdout.write(`refused ${err.code}\n`);
    res.status(400).type("text/plain").send(err.message);
  }
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  process.stdout.write(`listening on http://${address}:${port}/webhooks\n`);
});
process.on("SIGTERM", () => server.close());
process.on("SIGINT", () => server.close());
