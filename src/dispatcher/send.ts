/**
 * One attempt of one claimed delivery: sign with the endpoint's template, send over undici (http.ts),
 * classify the answer (success, 410 gone, retry with the schedule and a bounded Retry-After, or failed),
 * and turn it into the outcome the completion writer records. Expected failures never throw.
 */
import type { Agent } from "undici";
import type { Config } from "../config.js";
import type { App } from "../domain/app.js";
import { newId } from "../domain/ids.js";
import { type Outcome, releaseOutcome, signalFor } from "./completions.js";
import { type Sending, type SendResult, sanitizeText, sendWebhook } from "./http.js";
import type { ClaimedRow, Completion, EventRow, Health } from "./queue.js";
import { nextRetryDelay, parseRetryAfter } from "./retry.js";
import { type Body, signedHeaders, type Templates } from "./templates.js";

/** A claimed delivery held by this process, waiting for a slot or being sent. */
export interface Job {
  row: ClaimedRow;
  lock: string;
  /** Local estimate of the lease end, taken BEFORE the claim was sent, so never later than the real one. */
  leaseDeadline: number;
  event: EventRow;
  body: Body;
  sending: Sending | null;
}

type SendConfig = Pick<
  Config,
  "retryScheduleMs" | "retryJitter" | "retryAfterMaxMs" | "attemptTimeoutMs" | "maxResponseBytes"
>;

export class Sender {
  private readonly attemptCounters = new Map<string, { inc(): void }>();
  /** Attempts made by this dispatcher (tests, diagnostics). */
  attemptsMade = 0;

  constructor(
    private readonly cfg: SendConfig,
    private readonly agent: Agent,
    private readonly templates: Templates,
    private readonly metrics: App["metrics"],
    private readonly noteHealth: (endpointId: string, h: Health) => void,
  ) {}

  /**
   * Sends one claimed delivery and returns its outcome; null when it must simply be dropped (`crashed`
   * says whether the process is simulating a crash: then an aborted send leaves its lease to expire).
   */
  async attempt(job: Job, crashed: () => boolean): Promise<Outcome | null> {
    const { row, event, body } = job;
    const attemptNumber = row.attempt_count + 1;
    const url = row.target_url ?? row.url;
    const prepared = signedHeaders(this.templates.get(row), event.id, body);

    let result: SendResult;
    if (prepared.error) {
      result = {
        status: null,
        retryAfter: null,
        body: null,
        durationMs: 0,
        error: prepared.error,
        aborted: false,
      };
    } else {
      job.sending = sendWebhook({
        url,
        headers: prepared.headers,
        body: body.bytes,
        timeoutMs: this.cfg.attemptTimeoutMs,
        maxResponseBytes: this.cfg.maxResponseBytes,
        dispatcher: this.agent,
      });
      result = await job.sending.result;
    }

    if (result.aborted) {
      if (crashed()) return null;
      // Shutdown cut it short. We MUST release the lease or the delivery waits a whole lease; it is sent
      // again later (the receiver may have seen this one: at-least-once).
      return releaseOutcome(row, job.lock, 0);
    }

    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const gone = result.status === 410;
    let status: Completion["status"];
    let delay: number | null = null;
    if (ok) status = "SUCCEEDED";
    else if (gone) status = "FAILED";
    else {
      const retryAfterMs =
        result.status === 429 || result.status === 503 ? parseRetryAfter(result.retryAfter) : null;
      delay = nextRetryDelay(this.cfg, { attemptNumber, retryAfterMs });
      status = delay === null ? "FAILED" : "RETRYING";
    }

    // Health describes the endpoint's own url; a replay to another url says nothing about it.
    if (row.target_url === null) this.noteHealth(row.endpoint_id, ok ? "ok" : gone ? "gone" : "fail");

    const outcome = ok ? "succeeded" : result.status === null ? "error" : "failed";
    this.attemptCounter(outcome).inc();
    this.metrics.attemptDuration.observe(result.durationMs / 1000);

    this.attemptsMade++;
    const attemptId = newId("attempt");
    const completion: Completion = {
      id: row.id,
      lock: job.lock,
      status,
      delay_ms: delay,
      attempted: true,
      attempt_id: attemptId,
      attempt_number: attemptNumber,
      url,
      att_status: ok ? "SUCCEEDED" : "FAILED",
      trigger: row.trigger,
      req_headers: prepared.recorded,
      resp_code: result.status,
      resp_body: result.body,
      duration_ms: result.durationMs,
      error: result.error === null ? null : sanitizeText(result.error),
      endpoint_id: row.endpoint_id,
    };
    return { completion, signal: signalFor(row, attemptId, status) };
  }

  private attemptCounter(outcome: "succeeded" | "error" | "failed") {
    let c = this.attemptCounters.get(outcome);
    if (!c) {
      c = this.metrics.attempts.labels({ outcome });
      this.attemptCounters.set(outcome, c);
    }
    return c;
  }
}
