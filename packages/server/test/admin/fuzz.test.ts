/** Bad input gets an RFC-shaped 4xx, never a 5xx: random bodies, queries and paths against the admin API and registration. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from './helpers.js';

describe('admin API and registration under random input', () => {
  let srv: TestServer;
  let admin: string;
  let iat: string;
  let client: string;
  before(async () => {
    srv = await startTestServer();
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    iat = (await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a b', audience: ['https://api.example.com'], max_clients: 100_000 } })).json.token;
    client = (await api(srv, 'POST', '/clients', { token: admin, body: { client_name: 'fuzz target', scope: 'a' } })).json.client_id;
  });
  after(() => srv.close());

  const fields = fc.constantFrom('client_name', 'scope', 'default_scope', 'audience', 'token_endpoint_auth_method', 'grant_types', 'jwks', 'jwks_uri', 'access_token_ttl', 'access_token_format', 'disabled', 'client_id', 'tls_client_auth_san_dns', 'dpop_bound_access_tokens', '__proto__', 'constructor', 'x');
  const body = fc.oneof(
    fc.dictionary(fields, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ maxLength: 40 }).map((s) => ({ raw: s })),
  );
  const shaped = (status: number, json: any) => {
    assert.ok(status >= 200 && status < 500, `status ${status}: ${JSON.stringify(json)}`);
    if (status >= 400) {
      assert.equal(typeof json?.error, 'string');
      assert.equal(typeof json?.error_description, 'string');
    }
  };

  it('client create / update bodies', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (b, update) => {
        const payload = (b as { raw?: string })?.raw !== undefined ? (b as { raw: string }).raw : b;
        const r = await api(srv, update ? 'PATCH' : 'POST', update ? `/clients/${client}` : '/clients', { token: admin, body: payload === undefined ? null : payload, headers: { 'content-type': 'application/json' } });
        shaped(r.status, r.json);
      }),
      { numRuns: 150 },
    );
  });

  it('query strings and path ids', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), fc.constantFrom('/clients', '/audit', '/clients/', '/registration-tokens/'), async (k, v, base) => {
        const path = base.endsWith('/') ? base + encodeURIComponent(k || 'x') : `${base}?${encodeURIComponent(k)}=${encodeURIComponent(v)}&limit=${encodeURIComponent(v)}&since=${encodeURIComponent(v)}`;
        const r = await api(srv, base === '/registration-tokens/' ? 'DELETE' : 'GET', path, { token: admin });
        shaped(r.status, r.json);
      }),
      { numRuns: 150 },
    );
  });

  it('RFC 7591 registration bodies', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await fetch(`${srv.url}/oauth2/register`, { method: 'POST', headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, body: JSON.stringify((b as { raw?: string })?.raw ?? b ?? null) });
        const text = await res.text();
        shaped(res.status, text ? JSON.parse(text) : undefined);
      }),
      { numRuns: 150 },
    );
  });
});
