import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ErrorBox, Field, SecretOnce, Stamp, TableWrap } from '../components.js';

interface Tok {
  id: string;
  scope: string | null;
  audience: string[] | null;
  max_clients: number | null;
  clients_registered: number;
  legacy: boolean;
  created_at: string;
  expires_at: string | null;
  created_by: string;
  expired: boolean;
  token?: string;
}

/** RFC 7591 initial access tokens: create (shown once), list, delete. */
export function RegistrationTokens() {
  const [list, setList] = useState<Tok[] | null>(null);
  const [scope, setScope] = useState('');
  const [audience, setAudience] = useState('');
  const [maxClients, setMaxClients] = useState('100');
  const [ttl, setTtl] = useState('86400');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => admin<{ registration_tokens: Tok[] }>('GET', '/registration-tokens').then((r) => setList(r.registration_tokens), setError);
  useEffect(() => {
    void load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const num = (v: string) => (/^\d+$/.test(v) ? Number(v) : v);
      const aud = audience.split(/\s+/).filter(Boolean);
      const t = await admin<Tok>('POST', '/registration-tokens', { scope: scope.trim(), audience: aud, max_clients: num(maxClients.trim()), ttl: num(ttl) });
      setCreated(t.token!);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h2>Dynamic registration</h2>
      <p class="muted">
        Services register themselves at <code>POST /oauth2/register</code> (RFC 7591) with an initial access token made here. The token caps the scopes and audiences they may ask for
        (both required; never <code>latchkey:*</code>) and how many clients it may register. The caps stay with each client it registered.
      </p>
      <form onSubmit={create} class="form">
        <Field label="Scope cap">
          <input value={scope} required onInput={(e) => setScope(e.currentTarget.value)} placeholder="e.g. reports:read" />
        </Field>
        <Field label="Audience cap (space-separated URLs)">
          <input value={audience} required onInput={(e) => setAudience(e.currentTarget.value)} placeholder="e.g. https://reports.example.com" />
        </Field>
        <Field label="Max clients">
          <input value={maxClients} inputMode="numeric" onInput={(e) => setMaxClients(e.currentTarget.value)} />
        </Field>
        <Field label="Lifetime (s)">
          <input value={ttl} inputMode="numeric" onInput={(e) => setTtl(e.currentTarget.value)} />
        </Field>
        <div class="actions">
          <button type="submit">Create initial access token</button>
        </div>
      </form>
      <ErrorBox error={error} />
      {created && <SecretOnce secret={created} label="Initial access token" />}
      {list && (
        <TableWrap>
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>Scope cap</th>
              <th>Audience cap</th>
              <th>Clients</th>
              <th>Expires</th>
              <th>Created by</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id}>
                <td>
                  <code>{t.id.slice(0, 12)}…</code>
                </td>
                <td>{t.legacy ? <span class="badge off">legacy: registers nothing</span> : t.scope}</td>
                <td>{(t.audience ?? []).join(' ')}</td>
                <td>
                  {t.clients_registered}
                  {t.max_clients != null ? ` / ${t.max_clients}` : ''}
                </td>
                <td>{t.expired ? <span class="badge off">expired</span> : <Stamp at={t.expires_at} />}</td>
                <td>
                  <code>{t.created_by}</code>
                </td>
                <td>
                  <button class="link" onClick={() => admin('DELETE', `/registration-tokens/${t.id}`).then(load, setError)}>
                    delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableWrap>
      )}
    </section>
  );
}
