/**
 * The body receivers get for an event: {"id","type","timestamp",["test",]"data"}, identical on every attempt of
 * every delivery of the event. The dispatcher sends it; attempt rows do not store it (request_body is
 * NULL for it) and the API rebuilds it from the event for Attempt.requestBody. Both MUST go through this
 * one function, or the recorded request would differ from the one sent.
 */
export interface EnvelopeSource {
  id: string;
  type: string;
  createdAt: Date | string;
  payload: unknown;
  /** Test events (testEndpoint) say so at the top level, before data; real ones carry no "test" key. */
  test?: boolean;
}

export function envelopeOf(event: EnvelopeSource): string {
  const created = event.createdAt instanceof Date ? event.createdAt : new Date(event.createdAt);
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: created.toISOString(),
    ...(event.test ? { test: true } : {}),
    data: event.payload,
  });
}
