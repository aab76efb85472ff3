// Compiled with tsc --strict in a fresh project that installed the packed tarball: the package's
// declarations must type the SDK's results, its error unions and the receiver kit.
import { createHookgateClient, HookgateClientError } from "hookgate/client";
import { type VerifiedWebhook, verifyWebhook, WebhookVerificationError } from "hookgate/verify";

export async function use(url: string, apiKey: string): Promise<string[]> {
  const client = createHookgateClient({ url, apiKey });
  const out: string[] = [];
  const res = await client.CreateEndpoint({ input: { url: "https://example.com/hooks", events: ["*"] } });
  switch (res.createEndpoint.__typename) {
    case "CreateEndpointPayload":
      out.push(res.createEndpoint.secret, res.createEndpoint.endpoint.id);
      break;
    case "ValidationError":
      out.push(...res.createEndpoint.fieldErrors.map((f) => `${f.path}: ${f.message}`));
      break;
    default:
      out.push(res.createEndpoint.message);
  }
  for await (const update of client.deliveryUpdated({ status: ["FAILED"] })) {
    out.push(update.delivery.id, String(update.attempt?.responseCode ?? ""));
    break;
  }
  const v: VerifiedWebhook = verifyWebhook({ secret: "whsec_x", headers: {}, body: Buffer.from("") });
  out.push(v.id, String(v.timestamp));
  if (HookgateClientError.prototype instanceof Error && WebhookVerificationError.name) await client.close();
  return out;
}
