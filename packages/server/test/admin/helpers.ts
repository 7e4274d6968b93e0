import { basic, postForm, readJson, type TestServer } from '../helpers/harness.js';

/** A client-credentials token from the server under test (the admin API's own flow). */
export async function tokenFor(srv: TestServer, id: string, secret: string, scope?: string): Promise<string> {
  const r = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, { authorization: basic(id, secret) });
  if (r.status !== 200) throw new Error(`token request failed: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}

export interface ApiResult {
  status: number;
  headers: Headers;
  json: any;
}

/** Calls the admin API with plain fetch. `token` undefined → no Authorization header. */
export async function api(srv: TestServer, method: string, path: string, opts: { token?: string | undefined; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${srv.url}/admin/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const { json } = await readJson(res);
  return { status: res.status, headers: res.headers, json };
}
