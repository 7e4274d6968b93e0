import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ErrorBox, iso } from '../components.js';

interface Rec {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
}

export function Audit() {
  const [client, setClient] = useState('');
  const [recs, setRecs] = useState<Rec[] | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    // Only the answer for the current filter counts (answers can arrive out of order).
    let current = true;
    const t = setTimeout(() => {
      const q = new URLSearchParams({ limit: '200' });
      if (client.trim()) q.set('client', client.trim());
      admin<{ records: Rec[] }>('GET', `/audit?${q}`).then(
        (r) => {
          if (!current) return;
          setRecs(r.records);
          setError(null);
        },
        (e) => current && setError(e),
      );
    }, 150);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [client]);
  return (
    <section>
      <h2>Audit log</h2>
      <input class="search" placeholder="Filter by client ID" value={client} onInput={(e) => setClient(e.currentTarget.value)} />
      <ErrorBox error={error} />
      {recs && (
        <table data-testid="audit-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {recs.map((r) => (
              <>
                <tr key={r.id}>
                  <td>{iso(r.at)}</td>
                  <td>
                    <code>{r.actor}</code>
                  </td>
                  <td>{r.action}</td>
                  <td>{r.target ? <code>{r.target}</code> : '—'}</td>
                  <td>
                    <button class="link" onClick={() => setOpen(open === r.id ? null : r.id)}>
                      {open === r.id ? 'hide' : 'details'}
                    </button>
                  </td>
                </tr>
                {open === r.id && (
                  <tr key={`${r.id}-d`} class="details">
                    <td colSpan={5}>
                      <div class="diff">
                        <div>
                          <h4>Before</h4>
                          <pre>{JSON.stringify(r.before, null, 2)}</pre>
                        </div>
                        <div>
                          <h4>After</h4>
                          <pre>{JSON.stringify(r.after, null, 2)}</pre>
                        </div>
                      </div>
                    </td>
                  </tr>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
