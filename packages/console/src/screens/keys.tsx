import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ErrorBox, iso } from '../components.js';

interface Key {
  kid: string;
  alg: string;
  state: 'next' | 'current' | 'retired';
  publish_at: string;
  activate_at: string;
  retired_at: string | null;
  expires_at: string | null;
}

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
      </p>
      <ErrorBox error={error} />
      {notice && <div class="notice">{notice}</div>}
      {keys && (
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
            {keys.map((k) => (
              <tr key={k.kid}>
                <td>
                  <code title={k.kid}>{k.kid.slice(0, 16)}…</code>
                </td>
                <td>{k.alg}</td>
                <td>
                  <span class={`badge ${k.state}`}>{k.state}</span>
                </td>
                <td>{iso(k.publish_at)}</td>
                <td>{iso(k.activate_at)}</td>
                <td>{iso(k.retired_at)}</td>
                <td>{iso(k.expires_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
