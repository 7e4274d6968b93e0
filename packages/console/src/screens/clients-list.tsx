import { useEffect, useState } from 'preact/hooks';
import { admin, type Client } from '../api.js';
import { ErrorBox, TableWrap } from '../components.js';

const PAGE = 20;

export function ClientsList() {
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [data, setData] = useState<{ clients: Client[]; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    // Answers can arrive out of order (fast typing): only the one for the current search and page counts.
    let current = true;
    const t = setTimeout(() => {
      const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      if (search.trim()) q.set('search', search.trim());
      admin<{ clients: Client[]; total: number }>('GET', `/clients?${q}`)
        .then((d) => {
          if (!current) return;
          setData(d);
          setError(null);
        })
        .catch((e) => current && setError(e));
    }, 150);
    return () => {
      current = false;
      clearTimeout(t);
    };
  }, [search, offset]);
  return (
    <section>
      <div class="titlebar">
        <h2>Clients</h2>
        <a class="button" href="#/clients/new" data-testid="new-client">
          New client
        </a>
      </div>
      <input
        class="search"
        type="search"
        placeholder="Search by client ID or name"
        value={search}
        data-testid="client-search"
        onInput={(e) => {
          setOffset(0);
          setSearch(e.currentTarget.value);
        }}
      />
      <ErrorBox error={error} />
      {data && (
        <>
          <TableWrap>
          <table data-testid="clients-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Client ID</th>
                <th>Auth method</th>
                <th>Scopes</th>
                <th>Token</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {data.clients.map((c) => (
                <tr key={c.client_id}>
                  <td>
                    <a href={`#/clients/${encodeURIComponent(c.client_id)}`}>{c.client_name}</a>
                  </td>
                  <td>
                    <code>{c.client_id}</code>
                  </td>
                  <td>{c.token_endpoint_auth_method}</td>
                  <td>{c.scope || <span class="muted">none</span>}</td>
                  <td>{c.access_token_format}</td>
                  <td>{c.disabled ? <span class="badge off">disabled</span> : <span class="badge on">active</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </TableWrap>
          <div class="pager">
            <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <span data-testid="clients-total">
              {data.total === 0 ? 'no clients' : `${offset + 1}–${Math.min(offset + PAGE, data.total)} of ${data.total}`}
            </span>
            <button disabled={offset + PAGE >= data.total} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </div>
        </>
      )}
    </section>
  );
}
