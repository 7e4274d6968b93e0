// The whole product, end to end: a real Latchkey server issues tokens, an API protected by
// @latchkey/resource checks them, and @latchkey/client gets, binds, presents and renews them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyClientAuthentication, TokenClient, type TokenClientEvent } from '../src/index.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';
import { createResourceServer, nodeHttpGuard } from '../../resource/src/index.js';

const API = 'https://orders.example.com/';
let lk: TestServer;

before(async () => {
  lk = await startTestServer();
});
after(() => lk.close());

async function startApi(options: Record<string, unknown>): Promise<{ url: string; server: Server; hits: () => number }> {
  const rs = createResourceServer({ issuer: lk.issuer, audience: API, ...options });
  const guard = nodeHttpGuard(rs, { scopes: 'orders:read' });
  let hits = 0;
  const server = createServer(async (req, res) => {
    hits += 1;
    const auth = await guard(req, res);
    if (!auth) return;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ client: auth.clientId ?? (auth as { claims: { client_id: string } }).claims.client_id }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

test('Bearer JWT: client.fetch → @latchkey/resource accepts it', async (t) => {
  const c = await lk.createClient({ client_name: 'e2e-bearer', scope: 'orders:read', audience: [API] });
  const api = await startApi({});
  t.after(() => api.server.close());
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! }, scope: 'orders:read' });
  const res = await client.fetch(`${api.url}/orders`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { client: c.client_id });
});

test('DPoP-bound JWT: proofs accepted by an API that requires DPoP; a replayed proof is not', async (t) => {
  const c = await lk.createClient({ client_name: 'e2e-dpop', scope: 'orders:read', audience: [API] });
  const api = await startApi({ dpop: { required: true } });
  t.after(() => api.server.close());
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! }, scope: 'orders:read', dpop: true });
  for (let i = 0; i < 3; i++) {
    const res = await client.fetch(`${api.url}/orders?page=${i}`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200, await res.clone().text());
  }
  // The same proof sent twice is refused (RFC 9449 §11.1), so each call must carry a fresh one.
  const headers = await client.authorizationHeaders('GET', `${api.url}/orders`);
  const first = await fetch(`${api.url}/orders`, { headers });
  assert.equal(first.status, 200);
  const replay = await fetch(`${api.url}/orders`, { headers });
  assert.equal(replay.status, 401);
  // A Bearer token is refused by this API.
  const bearer = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! }, scope: 'orders:read' });
  assert.equal((await bearer.fetch(`${api.url}/orders`)).status, 401);
});

test('opaque token revoked at Latchkey: the API says invalid_token, client.fetch renews once and succeeds', async (t) => {
  const c = await lk.createClient({ client_name: 'e2e-opaque', scope: 'orders:read', audience: [API], access_token_format: 'opaque' });
  const api = await startApi({
    introspection: { clientAuthentication: { method: 'client_secret_basic', clientId: lk.admin.client_id, clientSecret: lk.admin.client_secret }, cacheTtl: 0 },
  });
  t.after(() => api.server.close());
  const events: TokenClientEvent[] = [];
  const auth = { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! } as const;
  const client = new TokenClient({ issuer: lk.issuer, auth, scope: 'orders:read', onEvent: (e) => events.push(e) });
  assert.equal((await client.fetch(`${api.url}/orders`)).status, 200);
  const old = await client.getToken();

  // Revoke it (RFC 7009), authenticating with the same applyClientAuthentication the client uses.
  const meta = await client.metadata();
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
  const body = new URLSearchParams({ token: old.accessToken });
  await applyClientAuthentication(auth, lk.issuer, headers, body);
  const revoked = await fetch(meta.revocation_endpoint!, { method: 'POST', headers, body });
  assert.equal(revoked.status, 200);

  const before = api.hits();
  const res = await client.fetch(`${api.url}/orders`);
  assert.equal(res.status, 200);
  assert.equal(api.hits() - before, 2, 'one 401, one retry with the new token');
  assert.notEqual((await client.getToken()).accessToken, old.accessToken);
  assert.equal(events.filter((e) => e.type === 'token_fetched').length, 2);
});
