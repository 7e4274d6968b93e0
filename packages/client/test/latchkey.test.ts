// End to end against a real Latchkey server (SQLite store, random port).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, EmbeddedJWK, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { OAuthErrorResponse, TokenClient, type AuthorizationServerMetadata, type TokenClientEvent } from '../src/index.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';

const API = 'https://orders.example.com/';
let lk: TestServer;
let meta: AuthorizationServerMetadata;

before(async () => {
  lk = await startTestServer();
  meta = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as AuthorizationServerMetadata;
});
after(() => lk.close());

const supportsAuth = (m: string) => () => (meta.token_endpoint_auth_methods_supported ?? []).includes(m);
const supportsDpop = () => Array.isArray(meta.dpop_signing_alg_values_supported) && meta.dpop_signing_alg_values_supported.length > 0;

async function issued(): Promise<number> {
  const text = await (await fetch(`${lk.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('latchkey_tokens_issued_total')) total += Number(line.split(' ').pop());
  return total;
}

async function verify(token: string) {
  const jwks = (await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: lk.issuer, typ: 'at+jwt' });
}

for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
  test(`${method}: token from Latchkey is an RFC 9068 JWT with the requested scope and audience`, async () => {
    const c = await lk.createClient({ client_name: method, scope: 'orders:read orders:write', audience: [API], token_endpoint_auth_method: method });
    const client = new TokenClient({ issuer: lk.issuer, auth: { method, clientId: c.client_id, clientSecret: c.client_secret! }, scope: 'orders:read' });
    const token = await client.getToken();
    assert.equal(token.tokenType, 'Bearer');
    assert.equal(token.scope, 'orders:read');
    const { payload, protectedHeader } = await verify(token.accessToken);
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.client_id, c.client_id);
    assert.equal(payload.sub, c.client_id);
    assert.equal(payload.scope, 'orders:read');
    assert.equal(payload.aud, API);
  });
}

test('client_secret_basic with a client_id that needs form-url-encoding (":" and ".")', async () => {
  const c = await lk.createClient({ client_id: 'team:orders.svc', client_name: 'enc', scope: 'orders:read', audience: [API] });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: 'team:orders.svc', clientSecret: c.client_secret! } });
  const { payload } = await verify((await client.getToken()).accessToken);
  assert.equal(payload.client_id, 'team:orders.svc');
});

test('1,000 concurrent getToken() calls → exactly one token issued (counted in the server metrics)', async () => {
  const c = await lk.createClient({ client_name: 'herd', scope: 'orders:read', audience: [API] });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! } });
  const before = await issued();
  const tokens = await Promise.all(Array.from({ length: 1000 }, () => client.getToken()));
  assert.equal((await issued()) - before, 1);
  assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
});

test('Latchkey errors surface as typed errors with the RFC code, without retries', async () => {
  const c = await lk.createClient({ client_name: 'errs', scope: 'orders:read', audience: [API] });
  const events: TokenClientEvent[] = [];
  const wrong = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: 'lk_wrong' }, onEvent: (e) => events.push(e) });
  await assert.rejects(wrong.getToken(), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_client' && e.status === 401);
  const good = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! }, onEvent: (e) => events.push(e) });
  await assert.rejects(good.getToken({ scope: 'orders:delete' }), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_scope' && e.status === 400);
  await assert.rejects(good.getToken({ resource: 'https://elsewhere.example/' }), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_target');
  assert.equal(events.filter((e) => e.type === 'retry').length, 0);
});

test('opaque tokens: cached by expires_in like any other', async () => {
  const c = await lk.createClient({ client_name: 'opaque', scope: 'orders:read', audience: [API], access_token_format: 'opaque', access_token_ttl: 600 });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! } });
  const before = Date.now();
  const token = await client.getToken();
  assert.throws(() => decodeJwt(token.accessToken));
  assert.ok(token.expiresAt > before + 590_000 && token.expiresAt <= Date.now() + 600_000);
  assert.equal((await client.getToken()).accessToken, token.accessToken);
});

test('refresh-ahead against Latchkey with 2 s tokens: never an expired token (10 s loop)', async () => {
  const c = await lk.createClient({ client_name: 'short', scope: 'orders:read', audience: [API], access_token_ttl: 2 });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! } });
  const deadline = Date.now() + 10_000;
  const seen = new Set<string>();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (Date.now() < deadline) {
        const t = await client.getToken();
        assert.ok(decodeJwt(t.accessToken).exp! * 1000 > Date.now(), 'expired token handed out');
        seen.add(t.accessToken);
        await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
  assert.ok(seen.size >= 5, `${seen.size} tokens over 10 s`);
});

test('authenticated fetch: an API rejecting a token with invalid_token gets a fresh one, once', async (t) => {
  const c = await lk.createClient({ client_name: 'fetch', scope: 'orders:read', audience: [API] });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! } });
  const first = await client.getToken();
  // An API that verifies Latchkey tokens and, like after a revocation, refuses the first one.
  const jwks = createLocalJWKSet((await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] });
  const received: string[] = [];
  const api = createServer(async (req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    received.push(token);
    try {
      await jwtVerify(token, jwks, { issuer: lk.issuer, audience: API, typ: 'at+jwt' });
      if (token === first.accessToken) throw new Error('revoked');
      res.end(JSON.stringify({ ok: true }));
    } catch {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="orders", error="invalid_token", error_description="revoked"' }).end();
    }
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  t.after(() => api.close());
  const before = await issued();
  const res = await client.fetch(`http://127.0.0.1:${(api.address() as AddressInfo).port}/orders`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  assert.equal(received.length, 2);
  assert.equal(received[0], first.accessToken);
  assert.notEqual(received[1], first.accessToken);
  assert.equal((await issued()) - before, 1);
});

test('private_key_jwt against Latchkey', async () => {
  assert.ok(supportsAuth('private_key_jwt')(), 'metadata advertises private_key_jwt');
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const c = await lk.createClient({ client_name: 'pkjwt', scope: 'orders:read', audience: [API], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'private_key_jwt', clientId: c.client_id, privateKey, kid: 'k1' } });
  const { payload } = await verify((await client.getToken()).accessToken);
  assert.equal(payload.client_id, c.client_id);
  // Each request carries a fresh assertion (jti is single-use at the server).
  const again = await client.getToken({ forceRefresh: true });
  assert.equal(decodeJwt(again.accessToken).client_id, c.client_id);
});

test('client_secret_jwt against Latchkey', async () => {
  assert.ok(supportsAuth('client_secret_jwt')(), 'metadata advertises client_secret_jwt');
  const c = await lk.createClient({ client_name: 'csjwt', scope: 'orders:read', audience: [API], token_endpoint_auth_method: 'client_secret_jwt' });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_jwt', clientId: c.client_id, clientSecret: c.client_secret! } });
  const { payload } = await verify((await client.getToken()).accessToken);
  assert.equal(payload.client_id, c.client_id);
});

test('DPoP against Latchkey: token bound to our key, proofs on API calls', async (t) => {
  assert.ok(supportsDpop(), 'metadata advertises DPoP');
  const c = await lk.createClient({ client_name: 'dpop', scope: 'orders:read', audience: [API] });
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! }, dpop: true });
  const token = await client.getToken();
  assert.equal(token.tokenType, 'DPoP');
  const signer = (await client.dpop())!;
  const { payload } = await verify(token.accessToken);
  assert.deepEqual(payload.cnf, { jkt: signer.jkt });
  const proofs: string[] = [];
  const api = createServer((req, res) => {
    proofs.push(req.headers.dpop as string);
    res.end(req.headers.authorization === `DPoP ${token.accessToken}` ? 'ok' : 'no');
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  t.after(() => api.close());
  const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}/orders`;
  assert.equal(await (await client.fetch(url)).text(), 'ok');
  const proof = await jwtVerify(proofs[0]!, EmbeddedJWK, { typ: 'dpop+jwt' });
  assert.equal(proof.payload.htu, url);
  assert.equal(proof.payload.htm, 'GET');
  assert.equal(proof.payload.ath, createHash('sha256').update(token.accessToken).digest('base64url'));
  assert.equal(await calculateJwkThumbprint(proof.protectedHeader.jwk!), signer.jkt);
});
