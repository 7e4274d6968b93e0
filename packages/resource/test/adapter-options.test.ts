import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import express from 'express';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import Fastify from 'fastify';
import { createResourceServer, expressAuth, getAuth, nodeHttpGuard, ResourceConfigError, ResourceError, withAuth } from '../src/index.js';
import { latchkeyFastify } from '../src/adapters/fastify.js';
import { nowSeconds, startIssuer, type TestIssuer } from './helpers/issuer.js';

const close = (s: Server) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });

describe('adapter options', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  it('express passErrors hands a ResourceError with a ready response to the error handler', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const app = express();
    const seen: ResourceError[] = [];
    app.get('/x', expressAuth(rs, { passErrors: true }), (_req, res) => { res.send('ok'); });
    app.use((err: ResourceError & { response: { status: number } }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      seen.push(err);
      res.status(err.response.status).json({ mine: err.code });
    });
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${await as.sign({ iss: 'https://evil.example' })}` } });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { mine: 'ERR_JWT_ISSUER_INVALID' });
      assert.ok(seen[0] instanceof ResourceError);
    } finally {
      await close(server);
    }
  });

  it('an invalid scope requirement fails at wiring time in every adapter, not on a request', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const bad = 'read "orders"';
    assert.throws(() => nodeHttpGuard(rs, { scopes: bad }), ResourceConfigError);
    assert.throws(() => expressAuth(rs, { scopes: bad }), ResourceConfigError);
    assert.throws(() => withAuth(rs, () => new Response('x'), { scopes: bad }), ResourceConfigError);
    await assert.rejects(rs.authenticate({ method: 'GET', url: 'https://api.example.test/', headers: {} }, bad), ResourceConfigError);
    const app = Fastify();
    await app.register(latchkeyFastify, { resourceServer: rs });
    assert.throws(() => app.get('/x', { config: { latchkey: { scopes: bad } } }, async () => 'x'), ResourceConfigError);
    await app.close();
  });

  it('fastify: registered inside a prefixed context, the plugin protects only that context', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const app = Fastify();
    app.get('/public', async () => ({ ok: true }));
    await app.register(
      async (api) => {
        await api.register(latchkeyFastify, { resourceServer: rs });
        api.get('/orders', async (request) => ({ client: request.auth?.clientId }));
      },
      { prefix: '/api' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      assert.equal((await fetch(`${base}/public`)).status, 200);
      assert.equal((await fetch(`${base}/api/orders`)).status, 401);
      const ok = await fetch(`${base}/api/orders`, { headers: { authorization: `Bearer ${await as.sign()}` } });
      assert.deepEqual(await ok.json(), { client: 'client-1' });
    } finally {
      await app.close();
    }
  });

  it('getAuth on an unauthenticated request is a wiring error, not a silent undefined', () => {
    assert.throws(() => getAuth({}), (e: unknown) => e instanceof ResourceError && e.code === 'ERR_MISSING_TOKEN');
  });

  it('node adapter: trustProxy takes the public URL from X-Forwarded-Proto/Host for the DPoP htu', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const token = await as.sign({ cnf: { jkt: await calculateJwkThumbprint(jwk) } });
    const proofFor = (htu: string) =>
      new SignJWT({ jti: randomUUID(), htm: 'GET', htu, iat: nowSeconds(), ath: createHash('sha256').update(token).digest('base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey);
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const servers = [true, false].map((trustProxy) => {
      const guard = nodeHttpGuard(rs, { trustProxy });
      return createServer(async (req, res) => {
        const auth = await guard(req, res);
        if (auth) res.end('ok');
      });
    });
    for (const s of servers) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const [trusting, plain] = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/orders`) as [string, string];
      const headers = async () => ({
        authorization: `DPoP ${token}`,
        dpop: await proofFor('https://api.example.test/orders'),
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'api.example.test',
      });
      assert.equal((await fetch(trusting, { headers: await headers() })).status, 200);
      // Not trusting the proxy headers, the URL is the local one, so the proof's htu does not match.
      const res = await fetch(plain, { headers: await headers() });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate')!, /DPoP error="invalid_dpop_proof"/);
    } finally {
      for (const s of servers) await close(s);
    }
  });

  it('JWKS with two keys under one kid (different types): the one fitting alg is used', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = as.keys[0]!.kid; // same kid as the ES256 key
    const rsaKey = { kid, alg: 'RS256', privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
    as.keys.push(rsaKey);
    try {
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, cache: false });
      assert.equal((await rs.verify(await as.sign({}, { key: rsaKey }))).clientId, 'client-1');
      assert.equal((await rs.verify(await as.sign({}, { key: as.keys[0]! }))).clientId, 'client-1');
    } finally {
      as.keys.pop();
    }
  });
});
