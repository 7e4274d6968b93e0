import { useEffect, useState } from 'preact/hooks';
import { admin, type ApiError, type Client, type RecentSecrets } from '../api.js';
import { ConfirmButton, ErrorBox, SecretOnce, when } from '../components.js';
import { ClientForm, toBody, type FormState } from './client-form.js';
import { FederatedFacts, federatedState } from './federated-identity.js';

const toForm = (c: Client): FormState => ({
  client_name: c.client_name,
  scope: c.scope,
  default_scope: c.default_scope ?? '',
  audience: c.audience.join('\n'),
  token_endpoint_auth_method: c.token_endpoint_auth_method,
  jwks: '',
  access_token_ttl: c.access_token_ttl == null ? '' : String(c.access_token_ttl),
  access_token_format: c.access_token_format,
  federated: federatedState(c),
});

/** 90 → "90 s", 3600 → "1 h", 5400 → "1 h 30 min". */
export function graceText(s: number): string {
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (r) parts.push(`${r} s`);
  return parts.join(' ') || '0 s';
}

export function ClientDetail({ id, self, recentSecrets }: { id: string; self: string; recentSecrets: RecentSecrets }) {
  const [c, setC] = useState<Client | null>(null);
  const [f, setF] = useState<FormState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState('');
  // The admin API's and the CLI's default (SPEC: rotate-secret --grace defaults to 0), explained below.
  const [grace, setGrace] = useState('0');
  const [secret, setSecret] = useState<string | null>(null);
  const load = () =>
    admin<Client>('GET', `/clients/${encodeURIComponent(id)}`)
      .then((x) => {
        setC(x);
        setF(toForm(x));
      })
      .catch(setError);
  useEffect(() => {
    void load();
  }, [id]);
  const act = async (fn: () => Promise<unknown>, done: string) => {
    setError(null);
    setNotice('');
    try {
      await fn();
      setNotice(done);
    } catch (e) {
      setError(e as ApiError);
    }
  };
  if (!c || !f) return <ErrorBox error={error} />;
  const path = `/clients/${encodeURIComponent(id)}`;
  const secretBased = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'].includes(c.token_endpoint_auth_method);
  return (
    <section data-testid="client-detail">
      <div class="titlebar">
        <h2>
          {c.client_name} {c.disabled ? <span class="badge off" data-testid="status">disabled</span> : <span class="badge on" data-testid="status">active</span>}
        </h2>
        <a class="button" href={`#/try/${encodeURIComponent(id)}`}>
          Try it
        </a>
      </div>
      <dl class="facts">
        <dt>Client ID</dt>
        <dd>
          <code>{c.client_id}</code>
        </dd>
        <dt>Method</dt>
        <dd>{c.token_endpoint_auth_method}</dd>
        <FederatedFacts client={c} />
        <dt>Issued</dt>
        <dd>{when(c.client_id_issued_at)}</dd>
        {secretBased && (
          <>
            <dt>Active secrets</dt>
            <dd data-testid="secrets-active">{c.client_secrets_active}</dd>
          </>
        )}
      </dl>
      <ErrorBox error={error} />
      {notice && (
        <div class="notice" role="status" data-testid="notice">
          {notice}
        </div>
      )}
      {secret && <SecretOnce secret={secret} label="New client secret" />}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const u = await admin<Client>('PATCH', path, toBody(f, 'update'));
            setC(u);
            setF(toForm(u));
          }, 'Saved.');
        }}
      >
        <h3>Settings</h3>
        <ClientForm f={f} set={setF} mode="update" fieldError={error?.field} />
        <div class="actions">
          <button type="submit" data-testid="save-client">
            Save
          </button>
        </div>
      </form>
      {secretBased && (
        <div class="panel">
          <h3>Rotate secret</h3>
          <p class="muted">
            Issues a new secret. The <strong>grace period</strong> is how long the current secret(s) keep working next to the new one, so running callers can switch
            without failing. The default is 0, as in the CLI and the admin API.
          </p>
          <label class="inline">
            Grace period (s){' '}
            <input inputMode="numeric" value={grace} data-testid="grace" onInput={(e) => setGrace(e.currentTarget.value)} />
          </label>
          <p class="hint-line" data-testid="grace-explained">
            {/^\d+$/.test(grace) && Number(grace) > 0
              ? `The current secret keeps working for ${graceText(Number(grace))} after rotation, then fails.`
              : /^\d+$/.test(grace)
                ? 'With 0 the current secret stops working at once: every caller still using it fails until it has the new secret. Use e.g. 3600 to give them an hour.'
                : 'Enter a number of seconds (0 or more).'}
          </p>
          <button
            data-testid="rotate-secret"
            onClick={() =>
              act(async () => {
                const r = await admin<Client>('POST', `${path}/rotate-secret`, { grace_seconds: /^\d+$/.test(grace) ? Number(grace) : grace });
                recentSecrets.set(id, r.client_secret!);
                setSecret(r.client_secret!);
                setC(r);
              }, 'Secret rotated. Older secrets stop working at ' + new Date(Date.now() + (Number(grace) || 0) * 1000).toISOString().replace(/\.\d+Z$/, 'Z') + '.')
            }
          >
            Rotate secret
          </button>
        </div>
      )}
      <div class="panel danger">
        <h3>Status</h3>
        {id === self ? (
          <p class="muted">You are signed in as this client; it cannot be disabled or deleted from here.</p>
        ) : (
          <div class="actions">
            {c.disabled ? (
              <button data-testid="enable-client" onClick={() => act(async () => setC(await admin<Client>('POST', `${path}/enable`)), 'Client enabled.')}>
                Enable
              </button>
            ) : (
              <ConfirmButton
                label="Disable"
                testId="disable-client"
                confirmLabel={`Disable ${c.client_name}`}
                question={
                  <>
                    Disable <strong>{c.client_name}</strong>? Its token requests fail on every node within a second and introspection reports its tokens inactive (JWTs that
                    resource servers check offline stay valid until they expire). You can enable it again later.
                  </>
                }
                onConfirm={() => void act(async () => setC(await admin<Client>('POST', `${path}/disable`)), 'Client disabled: its token requests now fail on every node within a second.')}
              />
            )}
            <ConfirmButton
              label="Delete"
              testId="delete-client"
              confirmLabel={`Delete ${c.client_name} for good`}
              question={
                <>
                  Delete <strong>{c.client_name}</strong>? It can no longer get tokens, and this cannot be undone: its id and secrets are gone.
                </>
              }
              onConfirm={() =>
                void act(async () => {
                  await admin('DELETE', path);
                  location.hash = '#/clients';
                }, 'Deleted.')
              }
            />
          </div>
        )}
      </div>
    </section>
  );
}
