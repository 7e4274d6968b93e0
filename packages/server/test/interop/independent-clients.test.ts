import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import express from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { startTestServer, type TestServer } from '../helpers/harness.js';

const API = 'https://orders.example.com';

describe('interop with independent clients', () => {
  let srv: TestServer;
  let basicC: { client_id: string; client_secret: string };
  let postC: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer();
    basicC = (await srv.createClient({ client_name: 'basic', scope: 'orders:read orders:write', audience: [API] })) as typeof basicC;
    postC = (await srv.createClient({
      client_name: 'post',
      scope: 'orders:read',
      audience: [API],
      token_endpoint_auth_method: 'client_secret_post',
    })) as typeof postC;
  });
  after(() => srv.close());

  const discover = (id: string, secret: string, method: typeof client.ClientSecretBasic) =>
    client.discovery(new URL(srv.issuer), id, undefined, method(secret), { execute: [client.allowInsecureRequests] });

  it('openid-client v6: clientCredentialsGrant with ClientSecretBasic', async () => {
    const config = await discover(basicC.client_id, basicC.client_secret, client.ClientSecretBasic);
    assert.equal(config.serverMetadata().issuer, srv.issuer);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read', resource: API });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'orders:read');
    assert.ok(tokens.expiresIn()! > 3500);
  });

  it('openid-client v6: clientCredentialsGrant with ClientSecretPost', async () => {
    const config = await discover(postC.client_id, postC.client_secret, client.ClientSecretPost);
    const tokens = await client.clientCredentialsGrant(config, {});
    assert.equal(tokens.scope, 'orders:read');
  });

  it('openid-client surfaces RFC 6749 errors (invalid_client, invalid_scope)', async () => {
    const bad = await discover(basicC.client_id, basicC.client_secret + 'x', client.ClientSecretBasic);
    // RFC 6749 §5.2: 401 + WWW-Authenticate for a failed Basic authentication; oauth4webapi reports the challenge.
    await assert.rejects(
      client.clientCredentialsGrant(bad, {}),
      (e: any) => e.status === 401 && e.cause?.[0]?.scheme === 'basic' && typeof e.cause[0].parameters?.realm === 'string',
    );
    const ok = await discover(basicC.client_id, basicC.client_secret, client.ClientSecretBasic);
    await assert.rejects(client.clientCredentialsGrant(ok, { scope: 'admin' }), (e: any) => e.error === 'invalid_scope');
  });

  it('jose verifies the token against the live JWKS with typ at+jwt (RFC 9068 §4)', async () => {
    const config = await discover(basicC.client_id, basicC.client_secret, client.ClientSecretBasic);
    const { access_token } = await client.clientCredentialsGrant(config, { scope: 'orders:write' });
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(access_token, jwks, {
      issuer: srv.issuer,
      audience: API,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope'],
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.client_id, basicC.client_id);
    assert.equal(payload.scope, 'orders:write');
  });

  it("Auth0's express-oauth2-jwt-bearer accepts the token in an Express app that discovers the issuer", async () => {
    const app = express();
    app.use(auth({ issuerBaseURL: srv.issuer, audience: API }));
    app.get('/orders', requiredScopes('orders:read'), (req, res) => {
      res.json({ client: req.auth?.payload.client_id });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const config = await discover(basicC.client_id, basicC.client_secret, client.ClientSecretBasic);
      const { access_token } = await client.clientCredentialsGrant(config, { scope: 'orders:read' });
      const ok = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${access_token}` } });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { client: basicC.client_id });
      const { access_token: writeOnly } = await client.clientCredentialsGrant(config, { scope: 'orders:write' });
      const forbidden = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${writeOnly}` } });
      assert.equal(forbidden.status, 403);
      const tampered = access_token.slice(0, -4) + (access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const bad = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${tampered}` } });
      assert.equal(bad.status, 401);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('curl-style raw request: RFC 8414 metadata at both well-known paths', async () => {
    for (const p of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const r = await fetch(srv.url + p);
      assert.equal(r.status, 200);
      const m = (await r.json()) as { issuer: string; token_endpoint: string; jwks_uri: string; grant_types_supported: string[]; token_endpoint_auth_methods_supported: string[] };
      assert.equal(m.issuer, srv.issuer);
      assert.equal(m.token_endpoint, `${srv.issuer}/oauth2/token`);
      assert.equal(m.jwks_uri, `${srv.issuer}/.well-known/jwks.json`);
      assert.deepEqual(m.grant_types_supported, ['client_credentials']);
      assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    }
    const jwks = (await (await fetch(`${srv.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    assert.ok(jwks.keys.length >= 1);
    for (const k of jwks.keys) {
      assert.ok(k.kid && k.alg && k.use === 'sig');
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[priv], undefined, `no private member ${priv}`);
    }
  });
});
