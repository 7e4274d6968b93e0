import { useEffect, useState } from 'preact/hooks';
import { admin, type Client } from '../api.js';
import { ErrorBox, iso, TableWrap } from '../components.js';

interface Rec {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
}

const nameIn = (v: unknown): string | undefined => {
  const n = v && typeof v === 'object' ? (v as { client_name?: unknown }).client_name : undefined;
  return typeof n === 'string' ? n : undefined;
};

/**
 * Client names for ids: from the clients list, then from the records themselves (a deleted client's
 * name is in its `client.delete` record's "before"). Resolved in the browser; the audit log keeps ids.
 */
export function clientNames(clients: Client[], recs: Rec[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const r of recs) {
    const n = nameIn(r.after) ?? nameIn(r.before);
    if (r.target && n && !names.has(r.target)) names.set(r.target, n);
  }
  for (const c of clients) names.set(c.client_id, c.client_name);
  return names;
}

function Who({ id, names }: { id: string; names: Map<string, string> }) {
  const name = names.get(id);
  return (
    <span class="who-cell">
      {name ? <span class="name">{name}</span> : null}
      <code>{id}</code>
    </span>
  );
}

/** "console:ID" → the kind and the client id (actors are "console:…", "admin:…", "cli:…", "registration:…", "client:…"). */
function Actor({ actor, names, claimed }: { actor: string; names: Map<string, string>; claimed: boolean }) {
  const i = actor.indexOf(':');
  // A failed sign-in's actor is only who the caller claimed to be.
  const kind = (i > 0 ? actor.slice(0, i) : '') + (claimed ? ' (claimed)' : '');
  const id = i > 0 ? actor.slice(i + 1) : actor;
  return (
    <span class="who-cell">
      {kind && <span class="muted">{kind}</span>}
      {names.has(id) ? <span class="name">{names.get(id)}</span> : null}
      <code>{id}</code>
    </span>
  );
}

export function Audit() {
  const [client, setClient] = useState('');
  const [failedOnly, setFailedOnly] = useState(false);
  const [recs, setRecs] = useState<Rec[] | null>(null);
  const [clients, setClients] = useState<Client[]>([]);
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    // Names only; the log still shows every record if this fails.
    admin<{ clients: Client[] }>('GET', '/clients?limit=500').then(
      (r) => setClients(r.clients),
      () => {},
    );
  }, []);
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
  const names = clientNames(clients, recs ?? []);
  const shown = (recs ?? []).filter((r) => !failedOnly || r.action === 'console.signin_failed');
  return (
    <section>
      <h2>Audit log</h2>
      <div class="filters">
        <input class="search" placeholder="Filter by client ID" value={client} data-testid="audit-filter" onInput={(e) => setClient(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={failedOnly} data-testid="audit-failed-only" onChange={(e) => setFailedOnly(e.currentTarget.checked)} /> failed sign-ins only
        </label>
      </div>
      <ErrorBox error={error} />
      {recs && (
        <TableWrap>
          <table class="stack" data-testid="audit-table">
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
              {shown.map((r) => (
                <>
                  <tr key={r.id} data-action={r.action}>
                    <td class="nowrap" data-label="Time">{iso(r.at)}</td>
                    <td data-label="Actor">
                      <Actor actor={r.actor} names={names} claimed={r.action === 'console.signin_failed'} />
                    </td>
                    <td data-label="Action">{r.action === 'console.signin_failed' ? <span class="badge off">{r.action}</span> : r.action}</td>
                    <td data-label="Target">{r.target ? <Who id={r.target} names={names} /> : '—'}</td>
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
        </TableWrap>
      )}
    </section>
  );
}
