import { OAuthError, type OAuthErrorCode } from '../shared/errors.js';
import { ConfigError, isLoopbackHost } from '../config.js';
import type { ClientService } from '../management/clients.service.js';
import { exportClients, importClients, type ImportFormat, type ImportReport } from '../management/client-import.js';

/** The client operations the CLI needs, whether it works on the store or through a server's admin API. */
export interface ClientOps {
  create(meta: Record<string, unknown>): Promise<Record<string, unknown>>;
  list(q: { search?: string | undefined; limit?: number; offset?: number }): Promise<{ clients: Record<string, unknown>[]; total: number }>;
  get(id: string): Promise<Record<string, unknown> | undefined>;
  update(id: string, meta: Record<string, unknown>): Promise<Record<string, unknown>>;
  setDisabled(id: string, disabled: boolean): Promise<Record<string, unknown>>;
  delete(id: string): Promise<void>;
  rotateSecret(id: string, opts: { graceSeconds?: number | undefined; expiresIn?: number | undefined }): Promise<Record<string, unknown>>;
  /** Migration in (issue #17 item 6): a Latchkey, Keycloak or Hydra client document. */
  importClients(doc: unknown, opts: { dryRun?: boolean; format?: ImportFormat | undefined }): Promise<ImportReport>;
  /** Migration out: every client, no secrets. */
  exportClients(): Promise<Record<string, unknown>>;
}

/** Direct store access (the default): the same ClientService rules as the admin API. */
export function localClientOps(c: ClientService, actor: string): ClientOps {
  return {
    create: (m) => c.create(m, actor),
    list: (q) => c.list(q),
    get: (id) => c.get(id),
    update: (id, m) => c.update(id, m, actor),
    setDisabled: (id, d) => c.setDisabled(id, d, actor),
    delete: (id) => c.delete(id, actor),
    rotateSecret: (id, o) => c.rotateSecret(id, actor, o),
    importClients: (doc, o) => importClients(c, doc, actor, { dryRun: o.dryRun === true, ...(o.format ? { format: o.format } : {}) }),
    exportClients: () => exportClients(c),
  };
}

export interface RemoteOptions {
  /** Base URL of a running Latchkey server (its issuer, or any URL that reaches it). */
  server: string;
  /** A ready access token with scope latchkey:admin … */
  token?: string | undefined;
  /** … or admin client credentials to get one with the client credentials grant (client_secret_basic). */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  fetch?: typeof fetch;
}

const KNOWN: ReadonlySet<string> = new Set(['invalid_request', 'invalid_client', 'invalid_scope', 'invalid_token', 'insufficient_scope', 'invalid_client_metadata', 'not_found', 'temporarily_unavailable', 'server_error']);

/** An error answered by the server, rethrown as the same OAuthError code the local path would throw. */
function remoteError(status: number, body: unknown): OAuthError {
  const b = (body ?? {}) as { error?: string; error_description?: string };
  const code = (typeof b.error === 'string' && KNOWN.has(b.error) ? b.error : 'server_error') as OAuthErrorCode;
  return new OAuthError(code, typeof b.error_description === 'string' ? b.error_description : `server answered HTTP ${status}`, { status });
}

/**
 * Where `--server` may send admin credentials (issue #14): an https URL (plain http only to a loopback
 * host) without userinfo, query or fragment. Returns the URL without trailing slashes. Throws
 * ConfigError (exit 2) naming `--server`.
 */
export function checkServerUrl(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new ConfigError(`--server: not a URL: ${server}`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new ConfigError(`--server: must use https:// (http:// only to a loopback host), got ${u.protocol}//${u.host}`);
  }
  if (u.username || u.password || u.search || u.hash) throw new ConfigError('--server: must not contain credentials, a query or a fragment');
  return server.replace(/\/+$/, '');
}

/**
 * RFC 8414 §3.3 and issue #14: the metadata must name exactly the given URL as its issuer, and its token
 * endpoint must be on the same origin — otherwise whoever answers at that URL could send the admin
 * client's credentials anywhere. Throws ConfigError (exit 2) naming `--server` and the mismatch.
 */
export function checkServerMetadata(base: string, meta: unknown): string {
  const m = (meta ?? {}) as { issuer?: unknown; token_endpoint?: unknown };
  if (m.issuer !== base) {
    throw new ConfigError(`--server: the server's metadata names issuer ${typeof m.issuer === 'string' ? m.issuer : '(none)'}, not ${base} (RFC 8414 §3.3); give its issuer as --server`);
  }
  if (typeof m.token_endpoint !== 'string') throw new ConfigError(`--server: ${base} metadata has no token_endpoint`);
  let t: URL;
  try {
    t = new URL(m.token_endpoint);
  } catch {
    throw new ConfigError(`--server: ${base} metadata has a malformed token_endpoint`);
  }
  if (t.origin !== new URL(base).origin) throw new ConfigError(`--server: the metadata's token_endpoint ${t.origin} is not on the origin of ${base}; refusing to send admin credentials there`);
  return m.token_endpoint;
}

/**
 * The admin API (`/admin/v1`) as ClientOps, for `latchkey clients … --server URL`. Gets a token with
 * the client credentials grant (scope latchkey:admin) at the server's advertised token endpoint
 * (RFC 8414 discovery) unless given one. Does not retry, and never prints or logs the credentials.
 */
export function remoteClientOps(o: RemoteOptions): ClientOps {
  const f = o.fetch ?? fetch;
  const base = checkServerUrl(o.server);
  let token: Promise<string> | undefined = o.token ? Promise.resolve(o.token) : undefined;

  async function getToken(): Promise<string> {
    if (!o.clientId || !o.clientSecret) throw new Error('--server needs --admin-token or --admin-client-id and --admin-client-secret (or LATCHKEY_ADMIN_TOKEN / LATCHKEY_ADMIN_CLIENT_ID / LATCHKEY_ADMIN_CLIENT_SECRET)');
    const meta = await f(`${base}/.well-known/oauth-authorization-server`, { redirect: 'error' });
    if (!meta.ok) throw new ConfigError(`--server: ${base} has no authorization server metadata (HTTP ${meta.status})`);
    const tokenEndpoint = checkServerMetadata(base, await meta.json().catch(() => undefined));
    // RFC 6749 §2.3.1: client_id and secret are form-url-encoded before Basic encoding.
    const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
    const res = await f(tokenEndpoint, {
      method: 'POST',
      redirect: 'error',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${enc(o.clientId)}:${enc(o.clientSecret)}`).toString('base64') },
      body: 'grant_type=client_credentials&scope=latchkey%3Aadmin',
    });
    const body = (await res.json().catch(() => undefined)) as { access_token?: string } | undefined;
    if (!res.ok || typeof body?.access_token !== 'string') throw remoteError(res.status, body);
    return body.access_token;
  }

  // The admin API answers with the shape the caller expects (the same ClientService results, as JSON).
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    token ??= getToken();
    const res = await f(`${base}/admin/v1${path}`, {
      method,
      redirect: 'error',
      headers: { authorization: `Bearer ${await token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) throw remoteError(res.status, json);
    return json as T;
  }

  const enc = encodeURIComponent;
  return {
    create: (m) => call('POST', '/clients', m),
    list: (q) => {
      const p = new URLSearchParams();
      if (q.search) p.set('search', q.search);
      if (q.limit !== undefined) p.set('limit', String(Math.min(q.limit, 500)));
      if (q.offset !== undefined) p.set('offset', String(q.offset));
      return call('GET', `/clients?${p.toString()}`);
    },
    get: async (id) => {
      try {
        return await call('GET', `/clients/${enc(id)}`);
      } catch (e) {
        if (e instanceof OAuthError && e.error === 'not_found') return undefined;
        throw e;
      }
    },
    update: (id, m) => call('PATCH', `/clients/${enc(id)}`, m),
    setDisabled: (id, d) => call('POST', `/clients/${enc(id)}/${d ? 'disable' : 'enable'}`),
    delete: async (id) => {
      await call('DELETE', `/clients/${enc(id)}`);
    },
    rotateSecret: (id, opts) =>
      call('POST', `/clients/${enc(id)}/rotate-secret`, {
        ...(opts.graceSeconds !== undefined ? { grace_seconds: opts.graceSeconds } : {}),
        ...(opts.expiresIn !== undefined ? { expires_in: opts.expiresIn } : {}),
      }),
    importClients: (doc, o) => {
      const p = new URLSearchParams();
      if (o.dryRun) p.set('dry_run', 'true');
      if (o.format) p.set('format', o.format);
      return call('POST', `/clients/import${p.size ? `?${p.toString()}` : ''}`, doc);
    },
    exportClients: () => call('GET', '/clients/export'),
  };
}
