import { useEffect, useState } from "preact/hooks";
import {
  DELIVERIES,
  type DeliveriesResult,
  type DeliveryFilter,
  type DeliveryRow,
  type DeliveryStatus,
  type EndpointRow,
  LIVE,
  type LiveUpdate,
} from "./documents.js";
import type { Gql } from "./gql.js";
import { html, Status, time } from "./ui.js";

/** The stream keeps the newest this many deliveries; older ones drop off the bottom. */
export const STREAM_CAP = 200;

const STATUSES: DeliveryStatus[] = ["PENDING", "SENDING", "SUCCEEDED", "RETRYING", "FAILED", "CANCELLED"];

/**
 * The newest deliveries matching the filter, kept current by deliveryUpdated. Updates are merged
 * into a pending map and rendered at most once per animation frame, so hundreds of updates a second
 * cost one sort and one render per frame; the list is capped at STREAM_CAP. `generation` changes
 * after a reconnect: the list is then read again (updates sent while the socket was down are lost).
 * Without DELIVERIES_READ (`enabled` false) it reads nothing.
 */
export function useDeliveryStream(gql: Gql, filter: DeliveryFilter, generation: number, enabled: boolean) {
  const [rows, setRows] = useState<DeliveryRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(filter);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    const byId = new Map<string, DeliveryRow>();
    const pending = new Map<string, DeliveryRow>();
    let frame = 0;
    const flush = () => {
      frame = 0;
      for (const [id, row] of pending) byId.set(id, { ...byId.get(id), ...row });
      pending.clear();
      let list = [...byId.values()].sort(
        (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
      );
      if (list.length > STREAM_CAP) {
        for (const r of list.slice(STREAM_CAP)) byId.delete(r.id);
        list = list.slice(0, STREAM_CAP);
      }
      setRows(list);
    };
    const schedule = () => {
      if (live && !frame) frame = requestAnimationFrame(flush);
    };
    setError(null);
    // Subscribe first, then read the list: nothing falls between the two.
    const unsubscribe = gql.subscribe<LiveUpdate>(
      LIVE,
      { filter },
      ({ deliveryUpdated: { delivery, attempt } }) => {
        const row: DeliveryRow = { ...delivery };
        if (attempt) {
          row.responseCode = attempt.responseCode;
          row.durationMs = attempt.durationMs;
        }
        const prev = pending.get(row.id);
        pending.set(row.id, prev ? { ...prev, ...row } : row);
        schedule();
      },
      (e) => setError(e.message),
    );
    gql
      .request<DeliveriesResult>(DELIVERIES, { filter })
      .then((r) => {
        for (const { node } of r.deliveries.edges) {
          const { attempts, ...d } = node;
          if (byId.has(d.id) || pending.has(d.id)) continue;
          const last = attempts.edges[0]?.node;
          pending.set(d.id, {
            ...d,
            responseCode: last?.responseCode ?? null,
            durationMs: last?.durationMs ?? null,
          });
        }
        schedule();
      })
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
      unsubscribe();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [gql, key, generation, enabled]);
  return { rows, error };
}

export function DeliveryFilters(props: {
  filter: DeliveryFilter;
  endpoints: EndpointRow[] | null;
  onChange: (f: DeliveryFilter) => void;
}) {
  const { filter, endpoints, onChange } = props;
  const [eventType, setEventType] = useState(filter.eventType ?? "");
  return html`<form class="filters" onSubmit=${(e: Event) => {
    e.preventDefault();
    onChange({ ...filter, eventType: eventType.trim() || undefined });
  }}>
    ${
      endpoints &&
      html`<label>Endpoint
        <select data-testid="filter-endpoint" value=${filter.endpointId ?? ""}
          onChange=${(e: Event) => onChange({ ...filter, endpointId: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">all</option>
          ${endpoints.map((ep) => html`<option value=${ep.id}>${ep.url}</option>`)}
        </select></label>`
    }
    <label>Event type
      <input data-testid="filter-event-type" placeholder="invoice.paid" value=${eventType}
        onInput=${(e: Event) => setEventType((e.target as HTMLInputElement).value)}
        onBlur=${() => onChange({ ...filter, eventType: eventType.trim() || undefined })} />
    </label>
    <label>Status
      <select data-testid="filter-status" value=${filter.status?.[0] ?? ""}
        onChange=${(e: Event) => {
          const v = (e.target as HTMLSelectElement).value as DeliveryStatus | "";
          onChange({ ...filter, status: v ? [v] : undefined });
        }}>
        <option value="">all</option>
        ${STATUSES.map((s) => html`<option value=${s}>${s.toLowerCase()}</option>`)}
      </select>
    </label>
  </form>`;
}

export function DeliveryTable(props: {
  rows: DeliveryRow[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const { rows, selected, onSelect } = props;
  if (rows.length === 0) return html`<p class="empty" data-testid="no-deliveries">No deliveries yet.</p>`;
  return html`<table class="deliveries" data-testid="deliveries">
    <thead><tr><th>Time</th><th>Status</th><th>Event type</th><th>Endpoint</th><th>Attempts</th><th>Response</th><th>Latency</th></tr></thead>
    <tbody>
      ${rows.map(
        (d) => html`<tr key=${d.id} data-testid="delivery-row" data-id=${d.id} data-status=${d.status}
          class=${d.id === selected ? "selected" : ""} onClick=${() => onSelect(d.id)}>
          <td>${time(d.createdAt)}</td>
          <td><${Status} value=${d.status} /></td>
          <td>${d.eventType}</td>
          <td class="url" title=${d.endpoint.url}>${d.endpoint.url}</td>
          <td class="num">${d.attemptCount}</td>
          <td class="num">${d.responseCode ?? "—"}</td>
          <td class="num">${d.durationMs == null ? "—" : `${d.durationMs} ms`}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
