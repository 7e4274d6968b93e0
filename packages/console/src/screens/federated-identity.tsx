import { useEffect, useState } from 'preact/hooks';
import { admin, call, type Client, type FederatedClient, type FederatedIdentity } from '../api.js';
import { Field } from '../components.js';
import type { IssuerKind, TrustedIssuer } from './trusted-issuers.js';

export const FEDERATED_METHOD = 'federated_jwt';

/** The client form's federated part: one row per claim condition (an empty row is ignored). */
export interface FederatedState {
  issuer: string;
  subject: string;
  claims: { key: string; value: string }[];
}

export const emptyFederated = (): FederatedState => ({ issuer: '', subject: '', claims: [] });

/** A client's `federated_identity` as form state. */
export function federatedState(c: Client): FederatedState {
  const f = (c as FederatedClient).federated_identity;
  if (!f) return emptyFederated();
  return { issuer: f.issuer, subject: f.subject, claims: Object.entries(f.claims ?? {}).map(([key, value]) => ({ key, value })) };
}

/** Form state → `federated_identity`. Rows with neither name nor value are skipped; the API checks the rest. */
export function federatedBody(f: FederatedState): FederatedIdentity {
  const rows = f.claims.map((r) => ({ key: r.key.trim(), value: r.value })).filter((r) => r.key || r.value);
  return {
    issuer: f.issuer,
    subject: f.subject.trim(),
    ...(rows.length ? { claims: Object.fromEntries(rows.map((r) => [r.key, r.value])) } : {}),
  };
}

const subjectHint: Record<IssuerKind, string> = {
  kubernetes: 'system:serviceaccount:<namespace>:<service account>',
  github: 'repo:<owner>/<repo>:environment:<env> (or :ref:refs/heads/main)',
  spiffe: 'the SPIFFE ID, spiffe://<trust domain>/<workload>',
  oidc: 'the exact sub of the workload’s tokens',
};

const claimHint: Record<IssuerKind, string> = {
  kubernetes: 'e.g. kubernetes.io.namespace = payments (dots reach into nested claims)',
  github: 'pin repository, environment and ref so no other repository’s token passes',
  spiffe: 'optional: other claims of the JWT-SVID that must be equal',
  oidc: 'claims that must be equal, as exact strings; dots reach into nested claims',
};

/**
 * The "federated (secretless)" part of the client form: trusted issuer, subject, claim conditions.
 * `fieldError` is the API's `field` (`federated_identity`, `federated_identity.subject`, …).
 */
export function FederatedFields({ value, onChange, fieldError }: { value: FederatedState; onChange: (f: FederatedState) => void; fieldError?: string | undefined }) {
  const [issuers, setIssuers] = useState<TrustedIssuer[] | null>(null);
  useEffect(() => {
    admin<{ trusted_issuers: TrustedIssuer[] }>('GET', '/trusted-issuers').then(
      (r) => setIssuers(r.trusted_issuers),
      () => setIssuers([]),
    );
  }, []);
  // With no issuer chosen yet, the first one is.
  useEffect(() => {
    if (!value.issuer && issuers?.[0]) onChange({ ...value, issuer: issuers[0].name });
  }, [issuers]);
  const bad = (k: string) => (fieldError === `federated_identity.${k}` || fieldError?.startsWith(`federated_identity.${k}.`) ? 'invalid' : '');
  const chosen = issuers?.find((t) => t.name === value.issuer);
  const kind: IssuerKind = chosen?.kind ?? 'oidc';
  const setRow = (i: number, row: { key: string; value: string }) => onChange({ ...value, claims: value.claims.map((r, j) => (j === i ? row : r)) });
  return (
    <div class={`form federated${fieldError === 'federated_identity' ? ' invalid' : ''}`} data-testid="federated-fields">
      {issuers && issuers.length === 0 && !value.issuer ? (
        <p class="hint-line">
          No trusted issuers yet. <a href="#/trusted-issuers">Add one</a> (a Kubernetes cluster, SPIFFE trust domain, GitHub Actions or an OIDC issuer), then create the client.
        </p>
      ) : (
        <Field label="Trusted issuer" hint={chosen ? `${chosen.issuer}` : undefined}>
          <select name="federated_issuer" class={bad('issuer')} value={value.issuer} onChange={(e) => onChange({ ...value, issuer: e.currentTarget.value })}>
            {value.issuer && !chosen && <option value={value.issuer}>{value.issuer}</option>}
            {(issuers ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field label="Subject" hint={`the exact sub: ${subjectHint[kind]}`}>
        <input name="federated_subject" class={bad('subject')} value={value.subject} onInput={(e) => onChange({ ...value, subject: e.currentTarget.value })} />
      </Field>
      <div class="fieldrow">
        <span class="label">Claim conditions</span>
        <div class="claims" data-testid="claim-rows">
          {value.claims.map((r, i) => (
            <div class="claim-row" key={i}>
              <input aria-label={`Claim ${i + 1} name`} class={bad('claims')} placeholder="claim" value={r.key} onInput={(e) => setRow(i, { ...r, key: e.currentTarget.value })} />
              <span class="eq">=</span>
              <input aria-label={`Claim ${i + 1} value`} class={bad('claims')} placeholder="value" value={r.value} onInput={(e) => setRow(i, { ...r, value: e.currentTarget.value })} />
              <button type="button" class="secondary" aria-label={`Remove claim ${i + 1}`} onClick={() => onChange({ ...value, claims: value.claims.filter((_, j) => j !== i) })}>
                ×
              </button>
            </div>
          ))}
          <div>
            <button type="button" class="secondary" data-testid="add-claim" onClick={() => onChange({ ...value, claims: [...value.claims, { key: '', value: '' }] })}>
              Add condition
            </button>
          </div>
        </div>
        <span class="hint">{claimHint[kind]}</span>
      </div>
    </div>
  );
}

/** `<dt>/<dd>` pairs for a client's facts list. */
export function FederatedFacts({ client }: { client: Client }) {
  const f = (client as FederatedClient).federated_identity;
  if (!f) return null;
  const claims = Object.entries(f.claims ?? {});
  return (
    <>
      <dt>Trusted issuer</dt>
      <dd data-testid="federated-issuer">
        <a href={`#/trusted-issuers/${encodeURIComponent(f.issuer)}`}>{f.issuer}</a>
      </dd>
      <dt>Subject</dt>
      <dd>
        <code data-testid="federated-subject">{f.subject}</code>
      </dd>
      <dt>Claim conditions</dt>
      <dd data-testid="federated-claims">
        {claims.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          claims.map(([k, v]) => (
            <div key={k}>
              <code>
                {k} = {v}
              </code>
            </div>
          ))
        )}
      </dd>
    </>
  );
}

/** How a federated client gets a token: its platform token as the client assertion (no client_id needed). */
export function FederatedUsage() {
  const [meta, setMeta] = useState<{ issuer: string; token_endpoint: string } | null>(null);
  useEffect(() => {
    call<{ issuer: string; token_endpoint: string }>('GET', '/.well-known/oauth-authorization-server').then(setMeta, () => setMeta(null));
  }, []);
  if (!meta) return null;
  return (
    <div class="panel" data-testid="federated-usage">
      <p class="muted">
        This client has no secret. The workload sends its platform token as the client assertion; the token’s audience must be Latchkey’s issuer,{' '}
        <code>{meta.issuer}</code>, and nothing else.
      </p>
      <pre>
        {`curl -s ${meta.token_endpoint} -d grant_type=client_credentials \
  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  --data-urlencode "client_assertion=$(cat /var/run/secrets/tokens/latchkey)"`}
      </pre>
    </div>
  );
}
