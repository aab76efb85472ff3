import { useState } from "preact/hooks";
import {
  CREATE_ENDPOINT,
  type EndpointRow,
  errorText,
  type MutationError,
  UPDATE_ENDPOINT,
} from "./documents.js";
import type { Gql } from "./gql.js";
import { html } from "./ui.js";

function parseHeaders(text: string): { name: string; value: string }[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(":");
      return i < 0 ? { name: l, value: "" } : { name: l.slice(0, i).trim(), value: l.slice(i + 1).trim() };
    });
}

/**
 * Create or edit an endpoint: url, event filters, description, custom headers. Sensitive header
 * values come back redacted, so on edit the headers are sent only when their text was changed
 * (otherwise the stored values stay as they are).
 */
export function EndpointForm(props: {
  gql: Gql;
  endpoint: EndpointRow | null;
  onDone: (endpoint: EndpointRow, secret: string | null) => void;
  onCancel: () => void;
}) {
  const { gql, endpoint, onDone, onCancel } = props;
  const initialHeaders = (endpoint?.headers ?? []).map((h) => `${h.name}: ${h.value}`).join("\n");
  const [url, setUrl] = useState(endpoint?.url ?? "");
  const [events, setEvents] = useState((endpoint?.events ?? ["*"]).join(", "));
  const [description, setDescription] = useState(endpoint?.description ?? "");
  const [headers, setHeaders] = useState(initialHeaders);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const input: Record<string, unknown> = {
      url: url.trim(),
      events: events
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      description,
    };
    if (!endpoint || headers !== initialHeaders) input.headers = parseHeaders(headers);
    try {
      if (endpoint) {
        const r = await gql.request<{ updateEndpoint: any }>(UPDATE_ENDPOINT, { id: endpoint.id, input });
        if (r.updateEndpoint.__typename === "UpdateEndpointPayload") onDone(r.updateEndpoint.endpoint, null);
        else setError(errorText(r.updateEndpoint as MutationError));
      } else {
        const r = await gql.request<{ createEndpoint: any }>(CREATE_ENDPOINT, { input });
        if (r.createEndpoint.__typename === "CreateEndpointPayload") {
          onDone(r.createEndpoint.endpoint, r.createEndpoint.secret);
        } else setError(errorText(r.createEndpoint as MutationError));
      }
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const field = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return html`<form class="panel endpoint-form" data-testid="endpoint-form" onSubmit=${submit}>
    <h2>${endpoint ? "Edit endpoint" : "New endpoint"}</h2>
    <label>URL <input name="url" required value=${url} onInput=${field(setUrl)} placeholder="https://example.com/webhooks" /></label>
    <label>Event types <input name="events" value=${events} onInput=${field(setEvents)} placeholder="invoice.paid, order.*" />
      <small>Comma-separated: names, <code>*</code> or <code>prefix.*</code></small></label>
    <label>Description <input name="description" value=${description} onInput=${field(setDescription)} /></label>
    <label>Headers <textarea name="headers" rows="3" value=${headers} onInput=${field(setHeaders)}
      placeholder="Authorization: Bearer receiver-token"></textarea>
      <small>One <code>Name: value</code> per line. Sensitive values are shown redacted and kept unless you edit this box.</small></label>
    ${error && html`<p class="notice notice-error" data-testid="form-error">${error}</p>`}
    <div class="row">
      <button type="submit" disabled=${busy} data-testid="save-endpoint">${endpoint ? "Save" : "Create"}</button>
      <button type="button" class="quiet" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}
