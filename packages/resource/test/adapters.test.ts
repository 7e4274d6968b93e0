/**
 * One contract, run against every adapter in a real app of its framework, over real HTTP.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import express from 'express';
import Fastify from 'fastify';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createResourceServer, expressAuth, getAuth, nodeHttpGuard, requireScopes, withAuth, type ResourceServer } from '../src/index.js';
import { latchkeyFastify } from '../src/adapters/fastify.js';
import { nowSeconds, startIssuer, type TestIssuer } from './helpers/issuer.js';

interface App {
  url: string;
  close(): Promise<void>;
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = (server: Server) => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });

const ADAPTERS: Record<string, (rs: ResourceServer) => Promise<App>> = {
  async express(rs) {
    const app = express();
    app.get('/health', (_req, res) => { res.json({ ok: true }); });
    app.get('/orders', expressAuth(rs, { scopes: 'read:orders' }), (req, res) => {
      const auth = getAuth(req);
      res.json({ client: auth.clientId, scopes: [...auth.scopes].sort() });
    });
    app.post('/orders', expressAuth(rs, { scopes: requireScopes('write:orders') }), (req, res) => { res.json({ created: getAuth(req).clientId }); });
    const server = createServer(app);
    return { url: await listen(server), close: () => closeServer(server) };
  },
  async fastify(rs) {
    const app = Fastify();
    await app.register(latchkeyFastify, { resourceServer: rs, scopes: 'read:orders' });
    app.get('/health', { config: { latchkey: false } }, async () => ({ ok: true }));
    app.get('/orders', async (request) => ({ client: request.auth?.clientId, scopes: [...(request.auth?.scopes ?? [])].sort() }));
    app.post('/orders', { config: { latchkey: { scopes: requireScopes('write:orders') } } }, async (request) => ({ created: request.auth?.clientId }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
  async 'node:http'(rs) {
    const guard = nodeHttpGuard(rs);
    const server = createServer(async (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/health') return void res.end(JSON.stringify({ ok: true }));
      const auth = await guard(req, res, req.method === 'POST' ? 'write:orders' : 'read:orders');
      if (!auth) return;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.method === 'POST' ? { created: auth.clientId } : { client: auth.clientId, scopes: [...auth.scopes].sort() }));
    });
    return { url: await listen(server), close: () => closeServer(server) };
  },
  async fetch(rs) {
    const read = withAuth(rs, (_req, auth) => Response.json({ client: auth.clientId, scopes: [...auth.scopes].sort() }), { scopes: 'read:orders' });
    const write = withAuth(rs, (_req, auth) => Response.json({ created: auth.clientId }), { scopes: 'write:orders' });
    const handler = (request: Request) =>
      new URL(request.url).pathname === '/health' ? Response.json({ ok: true }) : request.method === 'POST' ? write(request) : read(request);
    // A minimal node:http → fetch bridge, as Hono's node adapter does.
    const server = createServer(async (req, res) => {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const response = await handler(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    });
    return { url: await listen(server), close: () => closeServer(server) };
  },
};

describe('adapters over HTTP', () => {
  let as: TestIssuer;
  let rs: ResourceServer;
  before(async () => {
    as = await startIssuer();
    rs = createResourceServer({ issuer: as.issuer, audience: as.audience, realm: 'orders-api' });
  });
  after(() => as.close());

  for (const [name, start] of Object.entries(ADAPTERS)) {
    describe(name, () => {
      let app: App;
      before(async () => {
        app = await start(rs);
      });
      after(() => app.close());

      it('public route needs nothing', async () => {
        const res = await fetch(`${app.url}/health`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { ok: true });
      });

      it('no token → 401 with challenges, no error code', async () => {
        const res = await fetch(`${app.url}/orders`);
        assert.equal(res.status, 401);
        const challenge = res.headers.get('www-authenticate')!;
        assert.ok(challenge.startsWith('Bearer realm="orders-api"'), challenge);
        assert.ok(challenge.includes('DPoP realm="orders-api", algs="'), challenge);
        assert.ok(!challenge.includes('error='), challenge);
        assert.equal(await res.text(), '');
      });

      it('valid token → 200 and typed claims in the handler', async () => {
        const res = await fetch(`${app.url}/orders`, { headers: { authorization: `Bearer ${await as.sign({ scope: 'read:orders extra' })}` } });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { client: 'client-1', scopes: ['extra', 'read:orders'] });
      });

      it('forged token → 401 invalid_token', async () => {
        const token = await as.sign({ aud: 'https://not-us.example' });
        const res = await fetch(`${app.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate')!, /^Bearer realm="orders-api", error="invalid_token", error_description="The access token is invalid"/);
        assert.deepEqual(await res.json(), { error: 'invalid_token', error_description: 'The access token is invalid' });
      });

      it('missing scope → 403 insufficient_scope with scope', async () => {
        const res = await fetch(`${app.url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${await as.sign({ scope: 'read:orders' })}` } });
        assert.equal(res.status, 403);
        assert.match(res.headers.get('www-authenticate')!, /error="insufficient_scope".*scope="write:orders"/);
        assert.deepEqual(await res.json(), { error: 'insufficient_scope', error_description: 'The access token lacks the required scope', scope: 'write:orders' });
        const ok = await fetch(`${app.url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${await as.sign({ scope: 'read:orders write:orders' })}` } });
        assert.equal(ok.status, 200);
        assert.deepEqual(await ok.json(), { created: 'client-1' });
      });

      it('malformed Authorization → 400 invalid_request', async () => {
        const res = await fetch(`${app.url}/orders`, { headers: { authorization: 'Bearer not a token' } });
        assert.equal(res.status, 400);
        assert.deepEqual(await res.json(), { error: 'invalid_request', error_description: 'The request is malformed' });
      });

      it('two Authorization header lines → 400 invalid_request', async () => {
        const token = await as.sign();
        const status = await new Promise<number>((resolve, reject) => {
          const u = new URL(`${app.url}/orders`);
          const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, headers: ['authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`] as unknown as Record<string, string> }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        });
        assert.equal(status, 400);
      });

      it('DPoP-bound token with a proof for this URL → 200; as Bearer → 401', async () => {
        const { privateKey, publicKey } = await generateKeyPair('ES256');
        const jwk = await exportJWK(publicKey);
        const token = await as.sign({ cnf: { jkt: await calculateJwkThumbprint(jwk) } });
        const proof = await new SignJWT({ jti: randomUUID(), htm: 'GET', htu: `${app.url}/orders`, iat: nowSeconds(), ath: createHash('sha256').update(token).digest('base64url') })
          .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
          .sign(privateKey);
        const res = await fetch(`${app.url}/orders?q=1`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
        assert.equal(res.status, 200, await res.clone().text());
        const bearer = await fetch(`${app.url}/orders`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(bearer.status, 401);
      });
    });
  }
});
