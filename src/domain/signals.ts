/**
 * Cross-process signals, carried by Postgres LISTEN/NOTIFY (PGlite delivers NOTIFY to
 * listeners on its own instance, so one mechanism serves both modes).
 *
 * - WAKE_CHANNEL: "deliveries may be due now" (publish, replay, recover, test). Dispatchers
 *   listening on it claim at once instead of waiting for their poll. The payload is ignored.
 * - DELIVERY_UPDATES_CHANNEL: one message per delivery status change or recorded attempt,
 *   fanned out to deliveryUpdated subscribers by every API process. The payload is a
 *   DeliveryUpdateSignal as JSON; it carries what subscription filters need so that
 *   filtering needs no query.
 *
 * They announce committed rows, so they are sent after the commit through Database.signal
 * (batched, see SignalSender), never from inside the writing statement.
 * A NOTIFY payload must stay under 8000 bytes; these are ~200.
 */
export const WAKE_CHANNEL = "hookgate_wake";
export const DELIVERY_UPDATES_CHANNEL = "hookgate_delivery_updates";

export interface DeliveryUpdateSignal {
  /** delivery id */
  d: string;
  /** attempt id, when this update records an attempt */
  a: string | null;
  /** materialised path of the delivery's (endpoint's) tenant: subscribers see their subtree */
  t: string;
  /** endpoint id */
  e: string;
  /** event type name */
  y: string;
  /** delivery status after the change */
  s: string;
}

export function encodeDeliveryUpdate(signal: DeliveryUpdateSignal): string {
  return JSON.stringify(signal);
}

export function decodeDeliveryUpdate(payload: string): DeliveryUpdateSignal | null {
  try {
    const v = JSON.parse(payload) as DeliveryUpdateSignal;
    return typeof v?.d === "string" && typeof v.t === "string" ? v : null;
  } catch {
    return null;
  }
}
