import { useEffect, useState } from 'preact/hooks';
import { admin, ApiError } from '../api.js';
import { ConfirmButton, ErrorBox, Field, TableWrap, when } from '../components.js';
import type { FederatedClient } from '../api.js';

/** A trusted issuer as the admin API returns it (`/admin/v1/trusted-issuers`, SPEC §9). */
export interface TrustedIssuer {
  name: string;
  issuer: string;
  kind: IssuerKind;
  keys_from: 'file' | 'jwks_uri' | 'discovery';
  jwks_uri: string | null;
  jwks?: { keys: Record<string, unknown>[] };
  max_assertion_lifetime: number;
  single_use: boolean;
  created_at: number;
  /** Only on `GET /trusted-issuers/{name}`: how many clients it authenticates. */
  federated_clients?: number;
}

export type IssuerKind = 'oidc' | 'kubernetes' | 'spiffe' | 'github';

export const KIND_LABEL: Readonly<Record<IssuerKind, string>> = {
  oidc: 'OpenID Connect',
  kubernetes: 'Kubernetes',
  spiffe: 'SPIFFE',
  github: 'GitHub Actions',
};

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/** 3600 → "1 h", 90 → "1 min 30 s". */
export function duration(s: number): string {
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (r) parts.push(`${r} s`);
  return parts.join(' ') || '0 s';
}

/** Where the issuer's keys come from, in words. */
export function keySource(t: TrustedIssuer): string {
  if (t.keys_from === 'file') {
    const n = t.jwks?.keys.length ?? 0;
    return `${t.kind === 'spiffe' ? 'pasted bundle' : 'pasted JWKS'} (${n} key${n === 1 ? '' : 's'})`;
  }
  if (t.keys_from === 'jwks_uri') return t.kind === 'spiffe' ? 'bundle endpoint' : 'jwks_uri';
  return 'discovery';
}

type KeySource = 'discovery' | 'jwks_uri' | 'jwks';

interface AddForm {
  name: string;
  kind: IssuerKind;
  issuer: string;
  source: KeySource;
  jwks_uri: string;
  jwks: string;
  max_assertion_lifetime: string;
  single_use: boolean;
}

const emptyAdd: AddForm = { name: '', kind: 'oidc', issuer: '', source: 'discovery', jwks_uri: '', jwks: '', max_assertion_lifetime: '3600', single_use: false };

/** The form → `POST /trusted-issuers` body. A JWKS that is not JSON is refused here, naming the field like the API would. */
export function addBody(f: AddForm): Record<string, unknown> {
  const b: Record<string, unknown> = { name: f.name.trim(), kind: f.kind };
  const issuer = f.issuer.trim();
  if (issuer) b.issuer = issuer;
  if (f.source === 'jwks_uri') b.jwks_uri = f.jwks_uri.trim();
  if (f.source === 'jwks') {
    try {
      b.jwks = JSON.parse(f.jwks) as unknown;
    } catch {
      throw new ApiError(400, 'invalid_request', `jwks: not valid JSON — paste the whole ${f.kind === 'spiffe' ? 'bundle' : 'JWK Set'}, {"keys": [...]}`, 'jwks');
    }
  }
  const life = f.max_assertion_lifetime.trim();
  if (life) b.max_assertion_lifetime = /^\d+$/.test(life) ? Number(life) : life;
  b.single_use = f.single_use;
  return b;
}

const issuerHint: Record<IssuerKind, string> = {
  oidc: "the exact iss of its tokens, e.g. https://accounts.example.com",
  kubernetes: 'the cluster\'s service-account issuer (kubectl get --raw /.well-known/openid-configuration → issuer)',
  spiffe: 'spiffe://<trust domain>, lower case, no path',
  github: `empty: ${GITHUB_ISSUER}`,
};

const jwksHint: Record<IssuerKind, string> = {
  oidc: 'public keys only, {"keys": [...]}',
  kubernetes: 'kubectl get --raw /openid/v1/jwks — public keys only',
  spiffe: 'the trust bundle, {"keys": [...]} (JWT-SVID keys)',
  github: 'public keys only, {"keys": [...]}',
};

/** Props of one text input of the issuer forms (value, name, invalid class, input handler). */
type TextProps = (k: 'jwks_uri' | 'jwks' | 'max_assertion_lifetime') => { value: string; name: string; class: string; onInput: (e: Event) => void };

/** Where the keys come from, and the rules: shared by the add and the update form. */
function KeysAndRules({ f, setF, text }: { f: AddForm; setF: (f: AddForm) => void; text: TextProps }) {
  const spiffe = f.kind === 'spiffe';
  return (
    <>
      <Field label="Keys from">
        <select name="source" value={f.source} onChange={(e) => setF({ ...f, source: e.currentTarget.value as KeySource })}>
          {!spiffe && <option value="discovery">discovery (issuer/.well-known/openid-configuration)</option>}
          <option value="jwks_uri">{spiffe ? 'bundle endpoint URL' : 'a jwks_uri'}</option>
          <option value="jwks">{spiffe ? 'pasted trust bundle' : 'pasted JWKS'}</option>
        </select>
      </Field>
      {f.source === 'jwks_uri' && (
        <Field label={spiffe ? 'Bundle endpoint' : 'JWKS URI'} hint="https; fetched under the outbound fetch policy">
          <input {...text('jwks_uri')} placeholder="https://" />
        </Field>
      )}
      {f.source === 'jwks' && (
        <Field label={spiffe ? 'Trust bundle' : 'JWKS'} hint={jwksHint[f.kind]}>
          <textarea rows={6} spellcheck={false} {...text('jwks')} />
        </Field>
      )}
      <Field label="Max assertion lifetime (s)" hint="longest exp − iat accepted; Kubernetes projected tokens last 1 h by default">
        <input inputMode="numeric" {...text('max_assertion_lifetime')} />
      </Field>
      <label class="check">
        <input type="checkbox" name="single_use" checked={f.single_use} onChange={(e) => setF({ ...f, single_use: e.currentTarget.checked })} />
        <span>
          Single-use: a token with a <code>jti</code> is accepted once (platform tokens are normally reused for their lifetime)
        </span>
      </label>
    </>
  );
}

/** The "add" form, shown on the list screen. */
function AddIssuer({ onAdded, onCancel }: { onAdded: (t: TrustedIssuer) => void; onCancel: () => void }) {
  const [f, setF] = useState<AddForm>(emptyAdd);
  const [error, setError] = useState<ApiError | null>(null);
  const bad = (field: string) => (error?.field === field || error?.field?.startsWith(`${field}.`) ? 'invalid' : '');
  const text = (k: 'name' | 'issuer' | 'jwks_uri' | 'jwks' | 'max_assertion_lifetime') => ({
    value: f[k],
    name: k,
    class: bad(k),
    onInput: (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value }),
  });
  const setKind = (kind: IssuerKind) => {
    // SPIFFE bundles are configured, never discovered (draft-ietf-oauth-spiffe-client-auth).
    const source: KeySource = kind === 'spiffe' && f.source === 'discovery' ? 'jwks' : f.source;
    setF({ ...f, kind, source });
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      onAdded(await admin<TrustedIssuer>('POST', '/trusted-issuers', addBody(f)));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)));
    }
  };
  const spiffe = f.kind === 'spiffe';
  return (
    <form onSubmit={(e) => void submit(e)} class="panel" data-testid="add-issuer-form">
      <h3>Add a trusted issuer</h3>
      <div class="form">
        <Field label="Name">
          <input {...text('name')} placeholder="e.g. prod-cluster (letters, digits, . _ -)" />
        </Field>
        <Field label="Kind">
          <select name="kind" class={bad('kind')} value={f.kind} onChange={(e) => setKind(e.currentTarget.value as IssuerKind)}>
            <option value="oidc">OpenID Connect issuer</option>
            <option value="kubernetes">Kubernetes cluster</option>
            <option value="spiffe">SPIFFE trust domain</option>
            <option value="github">GitHub Actions</option>
          </select>
        </Field>
        <Field label={spiffe ? 'Trust domain' : 'Issuer URL'} hint={issuerHint[f.kind]}>
          <input {...text('issuer')} placeholder={spiffe ? 'spiffe://example.org' : f.kind === 'github' ? GITHUB_ISSUER : 'https://'} />
        </Field>
        <KeysAndRules f={f} setF={setF} text={text} />
      </div>
      <ErrorBox error={error} />
      <div class="actions">
        <button type="submit" data-testid="add-issuer">
          Add trusted issuer
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The issuer as the update form starts: its current key source, keys and rules. */
export function updateForm(t: TrustedIssuer): AddForm {
  const source: KeySource = t.keys_from === 'file' ? 'jwks' : t.keys_from;
  return {
    name: t.name,
    kind: t.kind,
    issuer: '',
    source,
    jwks_uri: t.jwks_uri ?? '',
    jwks: t.jwks ? JSON.stringify(t.jwks, null, 2) : '',
    max_assertion_lifetime: String(t.max_assertion_lifetime),
    single_use: t.single_use,
  };
}

/** The form → `PATCH /trusted-issuers/{name}` body: the same rules as adding; name and issuer are not sent (they cannot change). */
export function updateBody(f: AddForm): Record<string, unknown> {
  const { name: _name, ...b } = addBody({ ...f, issuer: '' });
  // Discovery: both key sources cleared (the API's "both null").
  if (f.source === 'discovery') Object.assign(b, { jwks: null, jwks_uri: null });
  return b;
}

/** Replace an issuer's keys or rules in place (e.g. after the cluster rotated its key): no gap, its clients stay. */
function UpdateIssuer({ t, onSaved }: { t: TrustedIssuer; onSaved: (t: TrustedIssuer) => void }) {
  const [f, setF] = useState<AddForm>(() => updateForm(t));
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const bad = (field: string) => (error?.field === field || error?.field?.startsWith(`${field}.`) ? 'invalid' : '');
  const text = (k: 'jwks_uri' | 'jwks' | 'max_assertion_lifetime') => ({
    value: f[k],
    name: k,
    class: bad(k),
    onInput: (e: Event) => {
      setSaved(false);
      setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
    },
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      onSaved(await admin<TrustedIssuer>('PATCH', `/trusted-issuers/${encodeURIComponent(t.name)}`, updateBody(f)));
      setSaved(true);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'error', String(err)));
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} class="panel" data-testid="update-issuer-form">
      <h3>Replace keys or rules</h3>
      <p class="hint-line">After the platform rotates its signing key: paste the new key set (while it still publishes the old key too). Every node uses it within a second; the clients stay attached.</p>
      <div class="form">
        <KeysAndRules f={f} setF={setF} text={text} />
      </div>
      <ErrorBox error={error} />
      {saved && (
        <p class="notice" data-testid="update-issuer-saved">
          Saved: every node uses it within a second.
        </p>
      )}
      <div class="actions">
        <button type="submit" data-testid="update-issuer">
          Save
        </button>
      </div>
    </form>
  );
}

/** Loads `GET /trusted-issuers/{name}` for each issuer, for its client count (the list does not carry it). */
async function withCounts(list: TrustedIssuer[]): Promise<Map<string, number>> {
  const counts = await Promise.all(
    list.slice(0, 100).map((t) =>
      admin<TrustedIssuer>('GET', `/trusted-issuers/${encodeURIComponent(t.name)}`).then(
        (d) => [t.name, d.federated_clients ?? 0] as const,
        () => undefined,
      ),
    ),
  );
  return new Map(counts.filter((x): x is readonly [string, number] => x !== undefined));
}

/** Trusted issuers (SPEC §9): list, add. */
export function TrustedIssuers() {
  const [list, setList] = useState<TrustedIssuer[] | null>(null);
  const [counts, setCounts] = useState<Map<string, number>>(new Map());
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>(null);
  const load = async () => {
    try {
      const r = await admin<{ trusted_issuers: TrustedIssuer[] }>('GET', '/trusted-issuers');
      setList(r.trusted_issuers);
      setCounts(await withCounts(r.trusted_issuers));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  return (
    <section data-testid="trusted-issuers">
      <div class="titlebar">
        <h2>Trusted issuers</h2>
        {!adding && (
          <button
            data-testid="new-issuer"
            onClick={() => {
              setNotice('');
              setAdding(true);
            }}
          >
            Add trusted issuer
          </button>
        )}
      </div>
      <p class="muted">
        Platforms whose identity tokens Latchkey accepts as client credentials: Kubernetes service-account tokens, SPIFFE JWT-SVIDs, GitHub Actions and other OIDC tokens. A
        federated client names one of them, the exact <code>sub</code> and any claim conditions — no secret to store or rotate.
      </p>
      {notice && (
        <div class="notice" role="status" data-testid="notice">
          {notice}
        </div>
      )}
      {adding && (
        <AddIssuer
          onCancel={() => setAdding(false)}
          onAdded={(t) => {
            setAdding(false);
            setNotice(`Trusted issuer ${t.name} added: every node accepts its tokens within a second. Create its clients under Clients → New client → federated.`);
            void load();
          }}
        />
      )}
      <ErrorBox error={error} />
      {list && list.length === 0 && !adding && <p data-testid="issuers-empty">No trusted issuers yet.</p>}
      {list && list.length > 0 && (
        <TableWrap>
          <table data-testid="issuers-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Issuer</th>
                <th>Kind</th>
                <th>Keys</th>
                <th>Max lifetime</th>
                <th>Single-use</th>
                <th>Clients</th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.name} data-name={t.name}>
                  <td>
                    <a href={`#/trusted-issuers/${encodeURIComponent(t.name)}`}>{t.name}</a>
                  </td>
                  <td>
                    <code>{t.issuer}</code>
                  </td>
                  <td class="nowrap">{KIND_LABEL[t.kind]}</td>
                  <td>{keySource(t)}</td>
                  <td class="nowrap">{duration(t.max_assertion_lifetime)}</td>
                  <td>{t.single_use ? 'yes' : 'no'}</td>
                  <td data-testid="issuer-clients">{counts.get(t.name) ?? '…'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

/** One trusted issuer: its settings, keys and clients; remove (asks first). */
export function TrustedIssuerDetail({ name }: { name: string }) {
  const [t, setT] = useState<TrustedIssuer | null>(null);
  const [clients, setClients] = useState<FederatedClient[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const path = `/trusted-issuers/${encodeURIComponent(name)}`;
  useEffect(() => {
    admin<TrustedIssuer>('GET', path).then(setT, setError);
    // The clients it authenticates (the list API has no issuer filter; 500 is its page limit).
    admin<{ clients: FederatedClient[] }>('GET', '/clients?limit=500').then((r) => setClients(r.clients.filter((c) => c.federated_identity?.issuer === name)), setError);
  }, [name]);
  const remove = async () => {
    setError(null);
    try {
      await admin('DELETE', path);
      location.hash = '#/trusted-issuers';
    } catch (e) {
      setError(e);
    }
  };
  if (!t) return <ErrorBox error={error} />;
  const n = t.federated_clients ?? 0;
  return (
    <section data-testid="issuer-detail">
      <div class="titlebar">
        <h2>{t.name}</h2>
        <a class="button secondary" href="#/trusted-issuers">
          All trusted issuers
        </a>
      </div>
      <dl class="facts">
        <dt>{t.kind === 'spiffe' ? 'Trust domain' : 'Issuer'}</dt>
        <dd>
          <code>{t.issuer}</code>
        </dd>
        <dt>Kind</dt>
        <dd>{KIND_LABEL[t.kind]}</dd>
        <dt>Keys from</dt>
        <dd>
          {keySource(t)}
          {t.jwks_uri && (
            <>
              {' '}
              <code>{t.jwks_uri}</code>
            </>
          )}
        </dd>
        <dt>Max assertion lifetime</dt>
        <dd>
          {duration(t.max_assertion_lifetime)} ({t.max_assertion_lifetime} s)
        </dd>
        <dt>Single-use jti</dt>
        <dd>{t.single_use ? 'yes: a token with a jti is accepted once' : 'no: tokens are reusable until they expire'}</dd>
        <dt>Added</dt>
        <dd>{when(t.created_at)}</dd>
        <dt>Clients</dt>
        <dd data-testid="issuer-client-count">{n}</dd>
      </dl>
      {t.jwks && (
        <>
          <h3>Keys</h3>
          <TableWrap>
            <table data-testid="issuer-keys">
              <thead>
                <tr>
                  <th>kid</th>
                  <th>Type</th>
                  <th>alg</th>
                  <th>use</th>
                </tr>
              </thead>
              <tbody>
                {t.jwks.keys.map((k, i) => (
                  <tr key={i}>
                    <td>
                      <code>{str(k.kid) ?? '—'}</code>
                    </td>
                    <td>{[str(k.kty), str(k.crv)].filter(Boolean).join(' ')}</td>
                    <td>{str(k.alg) ?? '—'}</td>
                    <td>{str(k.use) ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
      {clients && clients.length > 0 && (
        <>
          <h3>Federated clients</h3>
          <ul data-testid="issuer-clients-list">
            {clients.map((c) => (
              <li key={c.client_id}>
                <a href={`#/clients/${encodeURIComponent(c.client_id)}`}>{c.client_name}</a> — <code>{c.federated_identity?.subject}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      <UpdateIssuer key={t.name} t={t} onSaved={(u) => setT({ ...u, federated_clients: t.federated_clients })} />
      <ErrorBox error={error} />
      <div class="panel danger">
        <h3>Remove</h3>
        <ConfirmButton
          label="Remove"
          testId="remove-issuer"
          confirmLabel={`Stop trusting ${t.name}`}
          question={
            <>
              Stop trusting <strong>{t.name}</strong>? Its tokens are refused on every node within a second
              {n > 0 ? (
                <>
                  , so its <strong>{n === 1 ? '1 client' : `${n} clients`}</strong> can no longer get tokens. The clients are kept and work again if you trust an issuer under
                  the same name.
                </>
              ) : (
                '. No client uses it.'
              )}
            </>
          }
          onConfirm={() => void remove()}
        />
      </div>
    </section>
  );
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
