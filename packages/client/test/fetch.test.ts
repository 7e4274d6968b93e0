// The authenticated fetch: 401 invalid_token → one refresh and one retry; DPoP nonces at the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, EmbeddedJWK } from 'jose';
import { challengeError, createAuthenticatedFetch, TokenClient } from '../src/index.js';
import { startScriptedAs } from './helpers/scripted-as.js';
import { startOidcProvider } from './helpers/oidc-provider.js';

const auth = { method: 'client_secret_basic', clientId: 'svc', clientSecret: 'secret' } as const;

async function api(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString(), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const bearer = (req: IncomingMessage) => (req.headers.authorization ?? '').replace(/^Bearer /, '');

test('concurrent 401 invalid_token responses cause exactly one refresh, and bodies are resent', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  const first = (await client.getToken()).accessToken;
  const bodies: string[] = [];
  const rs = await api((req, body, res) => {
    bodies.push(body);
    if (bearer(req) === first) return res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token", error_description="expired"' }).end();
    res.end(body.toUpperCase());
  });
  t.after(() => rs.close());
  const results = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const res = await client.fetch(`${rs.url}/echo`, { method: 'POST', body: `n=${i}` });
      return [res.status, await res.text()] as const;
    }),
  );
  results.forEach(([status, text], i) => {
    assert.equal(status, 200);
    assert.equal(text, `N=${i}`);
  });
  assert.equal(as.requests.length, 2, 'one initial token, one refresh for all 50 callers');
  assert.equal(bodies.length, 100);
});

test('an API that keeps saying invalid_token gets exactly two attempts, then the 401 is returned', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  let hits = 0;
  const rs = await api((_req, _body, res) => {
    hits += 1;
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="x", error="invalid_token"' }).end('nope');
  });
  t.after(() => rs.close());
  const res = await client.fetch(`${rs.url}/x`);
  assert.equal(res.status, 401);
  assert.equal(await res.text(), 'nope');
  assert.equal(hits, 2);
  assert.equal(as.requests.length, 2);
});

test('401 without invalid_token, 403 and stream bodies are passed through untouched', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  let hits = 0;
  const rs = await api((req, _body, res) => {
    hits += 1;
    if (req.url === '/forbidden') return res.writeHead(403, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' }).end();
    if (req.url === '/plain') return res.writeHead(401, { 'www-authenticate': 'Bearer realm="x"' }).end();
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
  });
  t.after(() => rs.close());
  assert.equal((await client.fetch(`${rs.url}/forbidden`)).status, 403);
  assert.equal((await client.fetch(`${rs.url}/plain`)).status, 401);
  const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('once')); c.close(); } });
  assert.equal((await client.fetch(`${rs.url}/stream`, { method: 'POST', body: stream, duplex: 'half' })).status, 401);
  assert.equal(hits, 3, 'no retries');
  assert.equal(as.requests.length, 1);
});

test('Request objects keep their method, headers and body across the retry', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  const first = (await client.getToken()).accessToken;
  const seen: Array<[string | undefined, string, string | undefined]> = [];
  const rs = await api((req, body, res) => {
    seen.push([req.method, body, req.headers['x-trace'] as string | undefined]);
    if (bearer(req) === first) return res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    res.end('ok');
  });
  t.after(() => rs.close());
  const request = new Request(`${rs.url}/r`, { method: 'PUT', body: 'payload', headers: { 'x-trace': 'abc' } });
  const res = await client.fetch(request);
  assert.equal(res.status, 200);
  assert.deepEqual(seen, [['PUT', 'payload', 'abc'], ['PUT', 'payload', 'abc']]);
});

test('createAuthenticatedFetch binds scope/resource and uses the given fetch', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  const rs = await api((req, _b, res) => res.end(req.headers.authorization?.startsWith('Bearer ') ? 'ok' : 'no'));
  t.after(() => rs.close());
  let calls = 0;
  const f = createAuthenticatedFetch(client, { scope: 'inventory:read', resource: 'https://inv.example/', fetch: (i, init) => { calls += 1; return fetch(i, init); } });
  assert.equal(await (await f(`${rs.url}/a`)).text(), 'ok');
  assert.equal(await (await f(`${rs.url}/b`)).text(), 'ok');
  assert.equal(calls, 2);
  assert.equal(as.requests.length, 1);
  assert.equal(as.requests[0]!.params.get('scope'), 'inventory:read');
  assert.equal(as.requests[0]!.params.get('resource'), 'https://inv.example/');
});

test('DPoP at the API: use_dpop_nonce is answered once with the server nonce (RFC 9449 §9)', async (t) => {
  const op = await startOidcProvider();
  t.after(() => op.close());
  const client = new TokenClient({ issuer: op.issuer, auth: { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret }, dpop: true, scope: 'read' });
  const nonces: Array<unknown> = [];
  const rs = await api(async (req, _b, res) => {
    const { payload } = await jwtVerify(req.headers.dpop as string, EmbeddedJWK, { typ: 'dpop+jwt' });
    nonces.push(payload.nonce);
    if (payload.nonce !== 'n-1') {
      return res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"', 'dpop-nonce': 'n-1' }).end();
    }
    res.end(req.headers.authorization?.startsWith('DPoP ') ? 'ok' : 'no');
  });
  t.after(() => rs.close());
  const res = await client.fetch(`${rs.url}/x`);
  assert.equal(await res.text(), 'ok');
  assert.deepEqual(nonces, [undefined, 'n-1']);
  // The nonce is remembered for the next call to that origin.
  assert.equal(await (await client.fetch(`${rs.url}/y`)).text(), 'ok');
  assert.deepEqual(nonces, [undefined, 'n-1', 'n-1']);
});

test('challengeError reads the error parameter from RFC 6750 / RFC 9449 challenges', () => {
  assert.equal(challengeError('Bearer realm="x", error="invalid_token", error_description="a, b"'), 'invalid_token');
  assert.equal(challengeError('DPoP algs="ES256", error=use_dpop_nonce'), 'use_dpop_nonce');
  assert.equal(challengeError('Bearer realm="x", error_description="error=invalid_token"'), undefined);
  assert.equal(challengeError('Bearer realm="x"'), undefined);
  assert.equal(challengeError(null), undefined);
});
