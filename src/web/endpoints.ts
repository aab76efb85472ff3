import { useState } from "preact/hooks";
import {
  type EndpointRow,
  errorText,
  type MutationError,
  RECOVER,
  ROTATE_SECRET,
  TEST_ENDPOINT,
  UPDATE_ENDPOINT,
} from "./documents.js";
import type { Gql } from "./gql.js";
import { html, type Notice, NoticeLine, percent, Status, time } from "./ui.js";

export interface EndpointPermissions {
  /** ENDPOINTS_WRITE: edit, enable/disable, rotate the secret, send a test event. */
  write: boolean;
  /** DELIVERIES_WRITE: recover failed deliveries. */
  recover: boolean;
}

type Action = "test" | "recover" | null;

/** datetime-local value (local time, minutes) for a Date. */
function localInput(d: Date): string {
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

function Health({ ep }: { ep: EndpointRow }) {
  const h = ep.health;
  const hours = Math.round(h.windowSeconds / 3600);
  const rate = h.successRate;
  const tone = rate === null ? "none" : rate >= 0.99 ? "good" : rate >= 0.8 ? "warn" : "bad";
  return html`<div class="health" data-testid="endpoint-health">
    <span class=${`rate rate-${tone}`} title=${`${h.succeeded} of ${h.attempts} attempts in ${hours} h`}>${percent(rate)}</span>
    <small>${h.attempts} attempts / ${hours} h</small>
    ${h.lastFailureAt && html`<small class="error">last failure ${time(h.lastFailureAt)}: ${h.lastFailureReason}</small>`}
  </div>`;
}

/**
 * One endpoint: its health, and the actions the key allows. Mutations answer with typed results;
 * their errors are shown on the row.
 */
function EndpointItem(props: {
  gql: Gql;
  ep: EndpointRow;
  can: EndpointPermissions;
  showTenant: boolean;
  onEdit: (ep: EndpointRow) => void;
  onChanged: (ep: EndpointRow | null, secret?: string) => void;
}) {
  const { gql, ep, can, showTenant, onEdit, onChanged } = props;
  const [action, setAction] = useState<Action>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const firstType = ep.events.find((e) => !e.includes("*")) ?? "";
  const [eventType, setEventType] = useState(firstType);
  const [since, setSince] = useState(localInput(new Date(Date.now() - 3600_000)));
  const [until, setUntil] = useState(localInput(new Date(Date.now() + 60_000)));

  const run = async (query: string, variables: Record<string, unknown>, ok: (payload: any) => string) => {
    setNotice(null);
    try {
      const data = await gql.request<Record<string, any>>(query, variables);
      const result = Object.values(data)[0];
      if (result.__typename.endsWith("Payload")) setNotice({ kind: "ok", text: ok(result) });
      else setNotice({ kind: "error", text: errorText(result as MutationError) });
      return result;
    } catch (e) {
      setNotice({ kind: "error", text: (e as Error).message });
      return null;
    }
  };
  const toggle = async () => {
    const status = ep.status === "ENABLED" ? "DISABLED" : "ENABLED";
    const r = await run(UPDATE_ENDPOINT, { id: ep.id, input: { status } }, () =>
      status === "ENABLED" ? "Enabled." : "Disabled.",
    );
    if (r?.endpoint) onChanged(r.endpoint);
  };
  const rotate = async () => {
    const r = await run(
      ROTATE_SECRET,
      { id: ep.id },
      () => "Secret rotated; the old one signs beside it for its grace period.",
    );
    if (r?.secret) onChanged(r.endpoint, r.secret);
  };
  const test = async (e: Event) => {
    e.preventDefault();
    await run(TEST_ENDPOINT, { id: ep.id, eventType: eventType.trim() }, () => "Test event sent.");
  };
  const recover = async (e: Event) => {
    e.preventDefault();
    await run(
      RECOVER,
      { id: ep.id, since: new Date(since).toISOString(), until: new Date(until).toISOString() },
      (p) => `${p.count} ${p.count === 1 ? "delivery" : "deliveries"} re-queued.`,
    );
  };

  return html`<li class="endpoint" data-testid="endpoint" data-id=${ep.id} data-url=${ep.url}>
    <div class="row">
      <${Status} value=${ep.status} />
      <strong class="url" title=${ep.url}>${ep.url}</strong>
      <span class="grow"></span>
      <${Health} ep=${ep} />
    </div>
    <div class="row meta">
      <small>${ep.events.join(", ")}</small>
      ${ep.description && html`<small>— ${ep.description}</small>`}
      ${showTenant && html`<small class="tenant" data-testid="endpoint-tenant">${ep.tenantId}</small>`}
      ${ep.disabledReason && html`<small class="error" data-testid="disabled-reason">disabled: ${ep.disabledReason.toLowerCase()}</small>`}
      ${ep.secrets[0] && html`<small>secret ${ep.secrets.map((s) => s.fingerprint).join(", ")}</small>`}
    </div>
    ${
      (can.write || can.recover) &&
      html`<div class="row actions">
        ${can.write && html`<button type="button" onClick=${() => onEdit(ep)} data-testid="edit-endpoint">Edit</button>`}
        ${can.write && html`<button type="button" onClick=${toggle} data-testid="toggle-endpoint">${ep.status === "ENABLED" ? "Disable" : "Enable"}</button>`}
        ${can.write && html`<button type="button" onClick=${() => setAction(action === "test" ? null : "test")} data-testid="test-endpoint">Send test event</button>`}
        ${can.recover && html`<button type="button" onClick=${() => setAction(action === "recover" ? null : "recover")} data-testid="recover-endpoint">Recover</button>`}
        ${can.write && html`<button type="button" onClick=${rotate} data-testid="rotate-secret">Rotate secret</button>`}
      </div>`
    }
    ${
      action === "test" &&
      html`<form class="row inline" onSubmit=${test}>
        <label>Event type <input value=${eventType} required data-testid="test-event-type"
          onInput=${(e: Event) => setEventType((e.target as HTMLInputElement).value)} /></label>
        <button type="submit" data-testid="send-test">Send</button>
      </form>`
    }
    ${
      action === "recover" &&
      html`<form class="row inline" onSubmit=${recover}>
        <label>Failed since <input type="datetime-local" value=${since} required
          onInput=${(e: Event) => setSince((e.target as HTMLInputElement).value)} /></label>
        <label>until <input type="datetime-local" value=${until} required
          onInput=${(e: Event) => setUntil((e.target as HTMLInputElement).value)} /></label>
        <button type="submit" data-testid="send-recover">Re-queue failed deliveries</button>
      </form>`
    }
    <${NoticeLine} notice=${notice} />
  </li>`;
}

export function EndpointList(props: {
  gql: Gql;
  endpoints: EndpointRow[];
  can: EndpointPermissions;
  onEdit: (ep: EndpointRow) => void;
  onChanged: (ep: EndpointRow | null, secret?: string) => void;
}) {
  const tenants = new Set(props.endpoints.map((e) => e.tenantId));
  if (props.endpoints.length === 0) return html`<p class="empty">No endpoints yet.</p>`;
  return html`<ul class="endpoints" data-testid="endpoints">
    ${props.endpoints.map(
      (ep) => html`<${EndpointItem} key=${ep.id} gql=${props.gql} ep=${ep} can=${props.can}
        showTenant=${tenants.size > 1} onEdit=${props.onEdit} onChanged=${props.onChanged} />`,
    )}
  </ul>`;
}
