import { html } from "htm/preact";
import { useState } from "preact/hooks";

export { html };

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return (
    d.toLocaleTimeString(undefined, { hour12: false }) + (sameDay(d) ? "" : ` ${d.toLocaleDateString()}`)
  );
}

function sameDay(d: Date): boolean {
  return d.toDateString() === new Date().toDateString();
}

export function percent(rate: number | null): string {
  return rate === null ? "—" : `${Math.round(rate * 1000) / 10}%`;
}

export function Status({ value }: { value: string }) {
  return html`<span class=${`badge badge-${value.toLowerCase()}`}>${value.toLowerCase()}</span>`;
}

/** A value shown once (a signing secret), with a copy button. */
export function SecretBox({ secret, onClose }: { secret: string; onClose: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("Copied");
    } catch {
      setCopied("Copy refused by the browser: select the text and copy it");
    }
  };
  return html`<div class="secret" data-testid="secret-box">
    <p><strong>Signing secret — shown only now.</strong> Store it where your receiver verifies signatures.</p>
    <code data-testid="secret-value">${secret}</code>
    <div class="row">
      <button type="button" onClick=${copy} data-testid="copy-secret">Copy</button>
      <button type="button" class="quiet" onClick=${onClose}>I have stored it</button>
      ${copied && html`<span class="hint">${copied}</span>`}
    </div>
  </div>`;
}

/** A short message after an action: ok (green) or an error (red). */
export interface Notice {
  kind: "ok" | "error";
  text: string;
}

export function NoticeLine({ notice }: { notice: Notice | null }) {
  if (!notice) return null;
  return html`<p class=${`notice notice-${notice.kind}`} role="status" data-testid="notice">${notice.text}</p>`;
}
