// A webhook receiver in plain node:http that verifies every delivery with hookgate/verify.
//
//   WEBHOOK_SECRET=whsec_... PORT=3000 node examples/receiver-node-http.mjs
//
// Prints one line per delivery: `verified <event id> <type> <data>` (answered 204), or `refused <code>`
// (answered 400: the sender retries, and a forged request gets nowhere). In your own project, after
// `npm install hookgate`, the import is the same.
import http from "node:http";
import { verifyWebhook, WebhookVerificationError } from "hookgate/verify";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  process.stderr.write("receiver: set WEBHOOK_SECRET to the endpoint's signing secret\n");
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    // Verify the raw bytes as received: re-serialised JSON would not match the signature.
    const body = Buffer.concat(chunks);
    try {
      const { id } = verifyWebhook({ secret, headers: req.headers, body });
      const event = JSON.parse(body.toString("utf8"));
      process.stdout.write(`verified ${id} ${event.type} ${JSON.stringify(event.data)}\n`);
      res.writeHead(204).end();
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      process.stdout.write(`refused ${err.code}\n`);
      res.writeHead(400, { "content-type": "text/plain" }).end(err.message);
    }
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  process.stdout.write(`listening on http://${address}:${port}/webhooks\n`);
});
process.on("SIGTERM", () => server.close());
process.on("SIGINT", () => server.close());
