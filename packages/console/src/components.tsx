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

/**
 * A button for an action that is hard to undo: the first click asks, in the page, and only
 * "confirm" acts. (In-page rather than window.confirm: visible in screenshots and testable.)
 */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, testId }: { label: string; question: ComponentChildren; confirmLabel: string; onConfirm: () => void; testId: string }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button class="warn" data-testid={testId} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <div class="confirm" role="alertdialog" aria-label={`${label}?`} data-testid={`${testId}-confirm`}>
      <p>{question}</p>
      <div class="actions">
        <button
          class="warn"
          data-testid={`${testId}-yes`}
          onClick={() => {
            setAsking(false);
            onConfirm();
          }}
        >
          {confirmLabel}
        </button>
        <button class="secondary" data-testid={`${testId}-no`} onClick={() => setAsking(false)}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Wide tables scroll sideways inside this box on narrow screens instead of widening the page. */
export function TableWrap({ children }: { children: ComponentChildren }) {
  return <div class="table-wrap">{children}</div>;
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

/** An ISO time that may wrap only between the date and the time (never inside "2026-12-04"). */
export function Stamp({ at }: { at: string | null | undefined }) {
  const t = iso(at);
  const m = /^(\d{4}-\d{2}-\d{2})T(.+)$/.exec(t);
  if (!m) return <>{t}</>;
  return (
    <span class="stamp" title={t}>
      <span>{m[1]}</span> <span>{m[2]}</span>
    </span>
  );
}
