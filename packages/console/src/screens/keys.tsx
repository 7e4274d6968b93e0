import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ErrorBox, iso, Stamp, TableWrap } from '../components.js';

interface Key {
  kid: string;
  alg: string;
  state: 'next' | 'current' | 'retired';
  publish_at: string;
  activate_at: string;
  retired_at: string | null;
  expires_at: string | null;
}

/**
 * The state to show. The server derives next / current / retired from the key's times (keys/keyring.ts);
 * a key retired no later than it would have started signing was replaced by a later rotation before it
 * ever signed: "superseded" — it never signs, and its "signs from" time no longer applies.
 */
export const shownState = (k: Pick<Key, 'state' | 'activate_at' | 'retired_at'>): Key['state'] | 'superseded' =>
  k.retired_at != null && Date.parse(k.retired_at) <= Date.parse(k.activate_at) ? 'superseded' : k.state;

const RANK = { next: 0, current: 1, retired: 2, superseded: 2 } as const;
/** Next, then current, then the retired and superseded keys (newest retirement first). */
const ordered = (keys: Key[]) =>
  [...keys].sort((a, b) => RANK[shownState(a)] - RANK[shownState(b)] || Date.parse(b.retired_at ?? b.activate_at) - Date.parse(a.retired_at ?? a.activate_at));

export function Keys() {
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const load = () => admin<{ keys: Key[] }>('GET', '/keys').then((r) => setKeys(r.keys), setError);
  useEffect(() => {
    void load();
  }, []);
  const rotate = async () => {
    setError(null);
    try {
      const k = await admin<Key>('POST', '/keys/rotate', {});
      setNotice(`New ${k.alg} key ${k.kid.slice(0, 12)}… is published now and signs from ${iso(k.activate_at)}.`);
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <div class="titlebar">
        <h2>Signing keys</h2>
        <button onClick={rotate} data-testid="rotate-key">
          Rotate
        </button>
      </div>
      <p class="muted">
        A new key is published in the JWKS before it signs (state <em>next</em>); the key it replaces stays published as <em>retired</em> until every token it signed has expired.
        A <em>next</em> key that a later rotation replaced before it started signing is <em>superseded</em>: it never signs.
      </p>
      <ErrorBox error={error} />
      {notice && <div class="notice">{notice}</div>}
      {keys && (
        <TableWrap>
        <table data-testid="keys-table">
          <thead>
            <tr>
              <th>kid</th>
              <th>alg</th>
              <th>State</th>
              <th>Published</th>
              <th>Signs from</th>
              <th>Retired</th>
              <th>Leaves JWKS</th>
            </tr>
          </thead>
          <tbody>
            {ordered(keys).map((k) => {
              const st = shownState(k);
              return (
              <tr key={k.kid} data-kid={k.kid} data-state={st}>
                <td>
                  <code title={k.kid}>{k.kid.slice(0, 16)}…</code>
                </td>
                <td>{k.alg}</td>
                <td>
                  <span class={`badge ${st}`}>{st}</span>
                </td>
                <td>
                  <Stamp at={k.publish_at} />
                </td>
                <td>{st === 'superseded' ? <span class="muted" title={`was to sign from ${iso(k.activate_at)}`}>never</span> : <Stamp at={k.activate_at} />}</td>
                <td>
                  <Stamp at={k.retired_at} />
                </td>
                <td>
                  <Stamp at={k.expires_at} />
                </td>
              </tr>
              );
            })}
          </tbody>
        </table>
        </TableWrap>
      )}
    </section>
  );
}
