import type { App } from "./app.js";

/** Health is judged on at most this many of an endpoint's latest attempts, so reading it stays cheap. */
export const HEALTH_ATTEMPTS_MAX = 1000;
export const HEALTH_WINDOW_DEFAULT_SECONDS = 24 * 3600;
export const HEALTH_WINDOW_MAX_SECONDS = 30 * 24 * 3600;

export interface EndpointHealth {
  windowSeconds: number;
  /** Attempts looked at: those in the window, at most HEALTH_ATTEMPTS_MAX (the latest). */
  attempts: number;
  succeeded: number;
  /** succeeded / attempts, or null when there was no attempt. */
  successRate: number | null;
  lastAttemptAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureResponseCode: number | null;
  /** The failed attempt's error, or its HTTP status when the receiver answered. */
  lastFailureReason: string | null;
}

/**
 * How an endpoint has been doing lately: the success rate of its latest attempts in the window
 * (at most HEALTH_ATTEMPTS_MAX) and the latest failure among them. One bounded backward scan of
 * the attempts(endpoint_id, created_at) index.
 */
export async function endpointHealth(
  app: App,
  endpointId: string,
  windowSeconds: number,
): Promise<EndpointHealth> {
  const rows = await app.db.query<{
    status: string;
    response_code: number | null;
    error_message: string | null;
    created_at: Date | string;
  }>(
    `SELECT status, response_code, error_message, created_at FROM attempts
      WHERE endpoint_id = $1 AND created_at >= now() - $2::bigint * interval '1 second'
      ORDER BY created_at DESC LIMIT ${HEALTH_ATTEMPTS_MAX}`,
    [endpointId, windowSeconds],
  );
  const succeeded = rows.filter((r) => r.status === "SUCCEEDED").length;
  const failure = rows.find((r) => r.status !== "SUCCEEDED");
  return {
    windowSeconds,
    attempts: rows.length,
    succeeded,
    successRate: rows.length === 0 ? null : succeeded / rows.length,
    lastAttemptAt: rows[0] ? new Date(rows[0].created_at) : null,
    lastFailureAt: failure ? new Date(failure.created_at) : null,
    lastFailureResponseCode: failure?.response_code ?? null,
    lastFailureReason: failure ? (failure.error_message ?? `HTTP ${failure.response_code}`) : null,
  };
}
