import { render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { DeliveryFilters, DeliveryTable, useDeliveryStream } from "./deliveries.js";
import { DeliveryPanel } from "./delivery-detail.js";
import {
  type ApiKeyScope,
  type DeliveryFilter,
  ENDPOINTS,
  type EndpointRow,
  VIEWER,
  type Viewer,
} from "./documents.js";
import { EndpointForm } from "./endpoint-form.js";
import { EndpointList } from "./endpoints.js";
import { type ConnState, connect, type Gql } from "./gql.js";
import { html, SecretBox } from "./ui.js";

/** The key lives in this tab's session storage only: closing the tab or signing out forgets it. */
const KEY_ITEM = "hookgate.apiKey";
/** Endpoint health is re-read at most this often while deliveries change. */
const HEALTH_REFRESH_MS = 3_000;

interface Session {
  gql: Gql;
  viewer: Viewer;
}

async function signIn(key: string): Promise<Session> {
  const gql = connect(key);
  try {
    const { viewer } = await gql.request<{ viewer: Viewer }>(VIEWER);
    return { gql, viewer };
  } catch (e) {
    gql.dispose();
    throw e;
  }
}

function SignIn({ onSession, message }: { onSession: (s: Session) => void; message: string | null }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(key.trim());
      sessionStorage.setItem(KEY_ITEM, key.trim());
      onSession(session);
    } catch (err) {
      setError(`The key was refused: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <form class="panel" onSubmit=${submit} data-testid="signin">
      <h1>Hookgate</h1>
      <p>Sign in with an API key. It is kept in this tab only and forgotten when you sign out or close the tab.</p>
      <label>API key <input type="password" name="apiKey" autocomplete="off" required value=${key}
        onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} /></label>
      ${error && html`<p class="notice notice-error" data-testid="signin-error">${error}</p>`}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

const CONN_LABEL: Record<ConnState, string> = {
  connecting: "connecting…",
  connected: "live",
  reconnecting: "reconnecting…",
  refused: "key refused",
};

function Dashboard({ session, onSignOut }: { session: Session; onSignOut: (message?: string) => void }) {
  const { gql, viewer } = session;
  const has = (s: ApiKeyScope) => viewer.scopes.includes("ADMIN") || viewer.scopes.includes(s);
  const [conn, setConn] = useState<ConnState>("connecting");
  const [generation, setGeneration] = useState(0);
  const [endpoints, setEndpoints] = useState<EndpointRow[] | null>(null);
  const [filter, setFilter] = useState<DeliveryFilter>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [form, setForm] = useState<{ endpoint: EndpointRow | null } | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const lastHealth = useRef(0);

  useEffect(
    () =>
      gql.onState((state, reconnected) => {
        setConn(state);
        if (reconnected) setGeneration((g) => g + 1);
        if (state === "refused") onSignOut("The key was refused (revoked or expired): sign in again.");
      }),
    [gql, onSignOut],
  );

  const loadEndpoints = useCallback(() => {
    if (!has("ENDPOINTS_READ")) return;
    lastHealth.current = Date.now();
    gql
      .request<{ endpoints: { edges: { node: EndpointRow }[] } }>(ENDPOINTS)
      .then((r) => setEndpoints(r.endpoints.edges.map((e) => e.node)))
      .catch(() => {});
  }, [gql]);
  useEffect(loadEndpoints, [loadEndpoints, generation]);

  const stream = useDeliveryStream(gql, filter, generation, has("DELIVERIES_READ"));
  // Health follows the stream: re-read soon after deliveries change, at most every HEALTH_REFRESH_MS.
  useEffect(() => {
    if (stream.rows.length === 0) return;
    const wait = Math.max(0, lastHealth.current + HEALTH_REFRESH_MS - Date.now());
    const t = setTimeout(loadEndpoints, wait);
    return () => clearTimeout(t);
  }, [stream.rows, loadEndpoints]);

  const sel = selected ? stream.rows.find((r) => r.id === selected) : undefined;
  const changed = (ep: EndpointRow | null, newSecret?: string) => {
    if (ep) setEndpoints((list) => (list ?? []).map((e) => (e.id === ep.id ? ep : e)));
    if (newSecret) setSecret(newSecret);
  };

  return html`<div class="app">
    <header class="top row">
      <h1>Hookgate</h1>
      <span class="tenant" data-testid="viewer-tenant">${viewer.tenant.name}</span>
      <span class="scopes" data-testid="viewer-scopes">${viewer.scopes.join(" ")}</span>
      <span class="grow"></span>
      <span class=${`conn conn-${conn}`} data-testid="conn-state" data-state=${conn}>${CONN_LABEL[conn]}</span>
      <button type="button" class="quiet" data-testid="signout" onClick=${() => onSignOut()}>Sign out</button>
    </header>
    ${secret && html`<${SecretBox} secret=${secret} onClose=${() => setSecret(null)} />`}
    <div class="columns">
      <section class="panel endpoints-panel">
        <header class="row"><h2>Endpoints</h2><span class="grow"></span>
          ${has("ENDPOINTS_WRITE") && html`<button type="button" data-testid="new-endpoint" onClick=${() => setForm({ endpoint: null })}>New endpoint</button>`}
        </header>
        ${
          form &&
          html`<${EndpointForm} gql=${gql} endpoint=${form.endpoint} onCancel=${() => setForm(null)}
            onDone=${(ep: EndpointRow, s: string | null) => {
              setForm(null);
              if (s) setSecret(s);
              loadEndpoints();
              changed(ep);
            }} />`
        }
        ${
          has("ENDPOINTS_READ")
            ? endpoints &&
              html`<${EndpointList} gql=${gql} endpoints=${endpoints}
                can=${{ write: has("ENDPOINTS_WRITE"), recover: has("DELIVERIES_WRITE") }}
                onEdit=${(ep: EndpointRow) => setForm({ endpoint: ep })} onChanged=${changed} />`
            : html`<p class="empty">This key cannot list endpoints (it needs ENDPOINTS_READ).</p>`
        }
      </section>
      <section class="panel stream">
        <header class="row"><h2>Deliveries</h2><span class="grow"></span>
          <small>${stream.rows.length} shown, newest first, live</small></header>
        ${
          has("DELIVERIES_READ")
            ? html`<${DeliveryFilters} filter=${filter} endpoints=${endpoints} onChange=${setFilter} />
              ${stream.error && html`<p class="notice notice-error">${stream.error}</p>`}
              <${DeliveryTable} rows=${stream.rows} selected=${selected} onSelect=${setSelected} />`
            : html`<p class="empty">This key cannot read deliveries (it needs DELIVERIES_READ).</p>`
        }
      </section>
    </div>
    ${
      selected &&
      html`<${DeliveryPanel} gql=${gql} id=${selected} canReplay=${has("DELIVERIES_WRITE")}
        version=${sel ? `${sel.status}/${sel.attemptCount}/${sel.updatedAt}` : ""} onClose=${() => setSelected(null)} />`
    }
  </div>`;
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [booting, setBooting] = useState(() => sessionStorage.getItem(KEY_ITEM) !== null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    const key = sessionStorage.getItem(KEY_ITEM);
    if (!key) return;
    signIn(key)
      .then(setSession)
      .catch((e: Error) => {
        sessionStorage.removeItem(KEY_ITEM);
        setMessage(`The stored key was refused: ${e.message}`);
      })
      .finally(() => setBooting(false));
  }, []);
  const signOut = useCallback((why?: string) => {
    sessionStorage.removeItem(KEY_ITEM);
    setSession((s) => {
      s?.gql.dispose();
      return null;
    });
    setMessage(why ?? null);
  }, []);
  if (booting) return html`<p class="empty">Connecting…</p>`;
  if (!session) return html`<${SignIn} onSession=${setSession} message=${message} />`;
  return html`<${Dashboard} session=${session} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById("app")!);
