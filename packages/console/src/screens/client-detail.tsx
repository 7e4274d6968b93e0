import { useEffect, useState } from 'preact/hooks';
import { admin, recentSecrets, type ApiError, type Client } from '../api.js';
import { ErrorBox, SecretOnce, when } from '../components.js';
import { ClientForm, toBody, type FormState } from './client-form.js';

const toForm = (c: Client): FormState => ({
  client_name: c.client_name,
  scope: c.scope,
  default_scope: c.default_scope ?? '',
  audience: c.audience.join('\n'),
  token_endpoint_auth_method: c.token_endpoint_auth_method,
  jwks: '',
  access_token_ttl: c.access_token_ttl == null ? '' : String(c.access_token_ttl),
  access_token_format: c.access_token_format,
});

export function ClientDetail({ id, self }: { id: string; self: string }) {
  const [c, setC] = useState<Client | null>(null);
  const [f, setF] = useState<FormState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState('');
  const [grace, setGrace] = useState('3600');
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
          <p class="muted">Issues a new secret. Older secrets keep working for the grace period, then fail.</p>
          <label class="inline">
            Grace period (s){' '}
            <input inputMode="numeric" value={grace} data-testid="grace" onInput={(e) => setGrace(e.currentTarget.value)} />
          </label>
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
              <button data-testid="enable-client" onClick={() => act(async () => setC(await admin('POST', `${path}/enable`)), 'Client enabled.')}>
                Enable
              </button>
            ) : (
              <button data-testid="disable-client" class="warn" onClick={() => act(async () => setC(await admin('POST', `${path}/disable`)), 'Client disabled: its token requests now fail on every node within a second.')}>
                Disable
              </button>
            )}
            <button
              class="warn"
              data-testid="delete-client"
              onClick={() => {
                if (confirm(`Delete ${c.client_name}? Its tokens stop being issued at once.`)) void act(async () => {
                  await admin('DELETE', path);
                  location.hash = '#/clients';
                }, 'Deleted.');
              }}
            >
              Delete
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
