import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ApiError } from './api.js';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as ApiError;
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{e.error ?? 'error'}</strong>: {e.description ?? String((error as Error).message ?? error)}
      {e.field ? <span class="field"> (field: {e.field})</span> : null}
    </div>
  );
}

/** A secret shown once, with a copy button (Clipboard API; falls back to selecting the text). */
export function SecretOnce({ secret, label = 'Client secret' }: { secret: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async (ev: Event) => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      const code = (ev.currentTarget as HTMLElement).parentElement?.querySelector('code');
      if (code) getSelection()?.selectAllChildren(code);
    }
  };
  return (
    <div class="secret" data-testid="secret-once">
      <div class="secret-label">{label} — shown only once. Store it in your secret manager now.</div>
      <div class="secret-row">
        <code data-testid="secret-value">{secret}</code>
        <button onClick={copy} data-testid="copy-secret">
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="fieldrow">
      <span class="label">{label}</span>
      {children}
      {hint ? <span class="hint">{hint}</span> : null}
    </label>
  );
}

export const when = (epochSeconds: number | null | undefined) => (epochSeconds ? new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z') : '—');
export const iso = (s: string | null | undefined) => (s ? s.replace(/\.\d{3}Z$/, 'Z') : '—');
