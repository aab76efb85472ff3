import { useEffect, useState } from "preact/hooks";
import { DELIVERY, type DeliveryDetail, errorText, type MutationError, REPLAY } from "./documents.js";
import type { Gql } from "./gql.js";
import { html, type Notice, NoticeLine, Status, time } from "./ui.js";

function Headers({ headers }: { headers: Record<string, string> }) {
  return html`<table class="kv">${Object.entries(headers).map(
    ([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`,
  )}</table>`;
}

/**
 * One delivery with every attempt (request headers and body as sent, secrets redacted by the
 * server; response code and body; duration; error). Re-read when `version` changes, i.e. when the
 * live stream reports a change to this delivery.
 */
export function DeliveryPanel(props: {
  gql: Gql;
  id: string;
  version: string;
  canReplay: boolean;
  onClose: () => void;
}) {
  const { gql, id, version, canReplay, onClose } = props;
  const [d, setD] = useState<DeliveryDetail | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  useEffect(() => {
    let live = true;
    gql
      .request<{ delivery: DeliveryDetail | null }>(DELIVERY, { id })
      .then((r) => live && setD(r.delivery))
      .catch((e: Error) => live && setNotice({ kind: "error", text: e.message }));
    return () => {
      live = false;
    };
  }, [gql, id, version]);

  const replay = async () => {
    setNotice(null);
    try {
      const r = await gql.request<{ replayDelivery: { __typename: string } & Partial<MutationError> }>(
        REPLAY,
        { id },
      );
      if (r.replayDelivery.__typename === "ReplayDeliveryPayload")
        setNotice({ kind: "ok", text: "Replay queued." });
      else setNotice({ kind: "error", text: errorText(r.replayDelivery as MutationError) });
    } catch (e) {
      setNotice({ kind: "error", text: (e as Error).message });
    }
  };

  return html`<section class="panel detail" data-testid="delivery-detail">
    <header class="row">
      <h2>Delivery <code>${id}</code></h2>
      <span class="grow"></span>
      ${canReplay && html`<button type="button" data-testid="replay" onClick=${replay}>Replay</button>`}
      <button type="button" class="quiet" onClick=${onClose} aria-label="Close">×</button>
    </header>
    <${NoticeLine} notice=${notice} />
    ${
      d === null
        ? html`<p class="empty">Loading…</p>`
        : html`<dl class="facts">
            <dt>Status</dt><dd><${Status} value=${d.status} /></dd>
            <dt>Event</dt><dd>${d.eventType} ${d.event?.test ? "(test)" : ""} <code>${d.event?.id ?? d.id}</code></dd>
            <dt>Endpoint</dt><dd>${d.endpoint.url}</dd>
            <dt>Created</dt><dd>${time(d.createdAt)}</dd>
            <dt>Next attempt</dt><dd>${time(d.nextAttemptAt)}</dd>
          </dl>
          <h3>Attempts (${d.attempts.edges.length})</h3>
          ${d.attempts.edges.length === 0 && html`<p class="empty">No attempt yet.</p>`}
          ${d.attempts.edges.map(
            ({ node: a }) => html`<article class="attempt" data-testid="attempt" data-status=${a.status}>
              <header class="row">
                <strong>#${a.attemptNumber}</strong> <${Status} value=${a.status} />
                <span>${a.trigger.toLowerCase()}</span>
                <span>${time(a.createdAt)}</span>
                <span>${a.durationMs} ms</span>
                <span>HTTP ${a.responseCode ?? "—"}</span>
              </header>
              ${a.errorMessage && html`<p class="error" data-testid="attempt-error">${a.errorMessage}</p>`}
              <details><summary>Request to ${a.url}</summary>
                <${Headers} headers=${a.requestHeaders} />
                <pre>${a.requestBody}</pre>
              </details>
              <details open=${a.status !== "SUCCEEDED"}><summary>Response</summary>
                <pre data-testid="response-body">${a.responseBody ?? "(none)"}</pre>
              </details>
            </article>`,
          )}`
    }
  </section>`;
}
