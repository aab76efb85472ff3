/**
 * `hookgate/verify`: what a receiver needs to check a delivery's signature, and nothing else (node:crypto
 * only: no server, database or GraphQL code comes with it).
 *
 *   import { verifyWebhook } from "hookgate/verify";
 *   const { id, timestamp } = verifyWebhook({ secret, headers: req.headers, body: rawBody });
 */
export {
  type VerifiedWebhook,
  type VerifyOptions,
  verifyHookgate,
  verifyStandard,
  verifyWebhook,
  type WebhookHeaders,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from "./signing/index.js";
