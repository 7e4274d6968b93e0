import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createResourceServer, ERROR_CATALOG, requireAnyScope, requireScopes, ResourceConfigError, type ResourceError } from '../src/index.js';
import { startIssuer, type TestIssuer } from './helpers/issuer.js';

describe('authenticate(): RFC 6750 requests and errors', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  const request = (headers: Record<string, string | string[]>, url = 'https://api.example.test/orders?x=1') => ({ method: 'GET', url, headers });

  it('valid token → ok, with claims', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const out = await rs.authenticate(request({ authorization: `Bearer ${await as.sign()}` }), 'read:orders');
    assert.equal(out.ok, true);
    assert.equal(out.ok && out.auth.clientId, 'client-1');
    // Scheme name is case-insensitive (RFC 7235 §2.1) and 1*SP may be several spaces.
    const out2 = await rs.authenticate(request({ authorization: `bEaReR   ${await as.sign()}` }));
    assert.equal(out2.ok, true);
  });

  it('no credentials → 401 with bare challenges and no error code (RFC 6750 §3.1)', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, realm: 'orders' });
    const cases: Record<string, string>[] = [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: '' }];
    for (const headers of cases) {
      const out = await rs.authenticate(request(headers));
      assert.equal(out.ok, false);
      if (out.ok) return;
      assert.equal(out.error.code, 'ERR_MISSING_TOKEN');
      assert.deepEqual(out.response, {
        status: 401,
        headers: { 'cache-control': 'no-store', 'www-authenticate': ['Bearer realm="orders"', 'DPoP realm="orders", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 EdDSA Ed25519"'] },
        body: '',
      });
    }
  });

  it('invalid token → 401 invalid_token on the scheme used, nothing more revealing', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, dpop: false });
    const out = await rs.authenticate(request({ authorization: `Bearer ${await as.sign({ aud: 'https://elsewhere.example' })}` }));
    assert.equal(out.ok, false);
    if (out.ok) return;
    assert.equal(out.error.code, 'ERR_JWT_AUDIENCE_INVALID');
    assert.deepEqual(out.response, {
      status: 401,
      headers: {
        'cache-control': 'no-store',
        'www-authenticate': 'Bearer error="invalid_token", error_description="The access token is invalid"',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ error: 'invalid_token', error_description: 'The access token is invalid' }),
    });
  });

  it('expired token says so (clients refresh on it)', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, dpop: false });
    const now = Math.floor(Date.now() / 1000);
    const out = await rs.authenticate(request({ authorization: `Bearer ${await as.sign({ iat: now - 100, exp: now - 50 })}` }));
    assert.equal(!out.ok && out.response.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="The access token expired"');
  });

  it('malformed credentials → 400 invalid_request', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, dpop: false });
    const token = await as.sign();
    const cases: Record<string, string | string[]>[] = [
      { authorization: 'Bearer' },
      { authorization: 'Bearer a b' },
      { authorization: 'Bearer tok{en}' },
      { authorization: `Bearer ${token}, Bearer ${token}` },
      { authorization: [`Bearer ${token}`, `Bearer ${token}`] },
    ];
    for (const headers of cases) {
      const out = await rs.authenticate(request(headers));
      assert.equal(out.ok, false, JSON.stringify(headers));
      if (out.ok) return;
      assert.equal(out.error.code, 'ERR_INVALID_REQUEST');
      assert.equal(out.response.status, 400);
      assert.equal(out.response.body, JSON.stringify({ error: 'invalid_request', error_description: 'The request is malformed' }));
      assert.match(String(out.response.headers['www-authenticate']), /^Bearer error="invalid_request"/);
    }
    // Token in the query string: not accepted (RFC 6750 §2.3 "SHOULD NOT", RFC 9700 §4.3.2).
    const q = await rs.authenticate(request({ authorization: `Bearer ${token}` }, `https://api.example.test/orders?access_token=${token}`));
    assert.equal(!q.ok && q.error.code, 'ERR_INVALID_REQUEST');
    const q2 = await rs.authenticate(request({}, `https://api.example.test/orders?access_token=${token}`));
    assert.equal(!q2.ok && q2.error.code, 'ERR_INVALID_REQUEST');
  });

  it('insufficient scope → 403 with the scope attribute (RFC 6750 §3.1)', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, dpop: false, realm: 'api' });
    const token = await as.sign({ scope: 'read:orders' });
    const out = await rs.authenticate(request({ authorization: `Bearer ${token}` }), requireScopes('read:orders', 'write:orders'));
    assert.equal(out.ok, false);
    if (out.ok) return;
    assert.deepEqual(out.response, {
      status: 403,
      headers: {
        'cache-control': 'no-store',
        'www-authenticate': 'Bearer realm="api", error="insufficient_scope", error_description="The access token lacks the required scope", scope="read:orders write:orders"',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ error: 'insufficient_scope', error_description: 'The access token lacks the required scope', scope: 'read:orders write:orders' }),
    });
    assert.equal((await rs.authenticate(request({ authorization: `Bearer ${token}` }), requireAnyScope('admin', 'read:orders'))).ok, true);
    assert.equal((await rs.authenticate(request({ authorization: `Bearer ${token}` }), ['read:orders'])).ok, true);
    assert.equal((await rs.authenticate(request({ authorization: `Bearer ${token}` }), requireAnyScope('admin', 'write:orders'))).ok, false);
    // Scope matching is exact and case-sensitive (RFC 6749 §3.3).
    assert.equal((await rs.authenticate(request({ authorization: `Bearer ${token}` }), 'READ:orders')).ok, false);
    assert.equal((await rs.authenticate(request({ authorization: `Bearer ${token}` }), 'read')).ok, false);
  });

  it('scope requirements are validated as RFC 6749 scope-tokens', () => {
    assert.throws(() => requireScopes('bad"scope'), ResourceConfigError);
    assert.throws(() => requireScopes(''), ResourceConfigError);
    assert.deepEqual(requireScopes('a b', ['c']).scopes, ['a', 'b', 'c']);
  });

  it('issuer outage → 503 temporarily_unavailable, no challenge', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    as.jwksStatus = 500;
    try {
      const out = await rs.authenticate(request({ authorization: `Bearer ${await as.sign()}` }));
      assert.equal(out.ok, false);
      if (out.ok) return;
      assert.equal(out.response.status, 503);
      assert.equal(out.response.headers['www-authenticate'], undefined);
      assert.equal(out.response.body, JSON.stringify({ error: 'temporarily_unavailable', error_description: 'Token verification is temporarily unavailable' }));
    } finally {
      as.jwksStatus = undefined;
    }
  });

  it('onError sees the precise code and a detail that never contains the token', async () => {
    const seen: ResourceError[] = [];
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, onError: (e) => seen.push(e) });
    const token = await as.sign({ iss: 'https://nope.example' });
    await rs.authenticate(request({ authorization: `Bearer ${token}` }));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.code, 'ERR_JWT_ISSUER_INVALID');
    assert.equal(seen[0]!.message.includes(token.split('.')[2]!), false);
    assert.equal(seen[0]!.detail.includes(token.split('.')[1]!), false);
  });

  it('every error code is documented in the README with its status', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      const line = readme.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      assert.ok(line, `${code} missing from the README error table`);
      assert.ok(line.includes(String(entry.status)), `${code}: status ${entry.status} not on its README line`);
    }
  });
});
