/**
 * `federated_jwt` (Latchkey SPEC §9) in the SDK: validation, the request parameters, the assertion read
 * on every request, and the GitHub Actions helper against a fake token service (node:http).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyClientAuthentication, assertionFromFile, githubActionsAssertion, LatchkeyClientError, TokenClient } from '../src/index.js';

const ISSUER = 'https://auth.example.com';

describe('federated_jwt client authentication', () => {
  it('sends the assertion (called on every request), jwt-bearer by default, jwt-spiffe on request, client_id only when given', async () => {
    let n = 0;
    const auth = { method: 'federated_jwt' as const, assertion: () => `token-${++n}` };
    const b1 = new URLSearchParams();
    await applyClientAuthentication(auth, ISSUER, new Headers(), b1);
    assert.deepEqual(Object.fromEntries(b1), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'token-1' });
    const b2 = new URLSearchParams();
    await applyClientAuthentication({ ...auth, clientId: 'svc', assertionType: 'jwt-spiffe' }, ISSUER, new Headers(), b2);
    assert.deepEqual(Object.fromEntries(b2), { client_id: 'svc', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe', client_assertion: 'token-2' });
  });

  it('validation at construction names the option; a failing source is ERR_INVALID_OPTIONS at request time', async () => {
    const bad = (auth: unknown, path: RegExp) =>
      assert.throws(() => new TokenClient({ issuer: ISSUER, auth: auth as never }), (e: LatchkeyClientError) => e.code === 'ERR_INVALID_OPTIONS' && path.test(e.message));
    bad({ method: 'federated_jwt' }, /auth\.assertion/);
    bad({ method: 'federated_jwt', assertion: 'a string' }, /auth\.assertion/);
    bad({ method: 'federated_jwt', assertion: () => 'x', clientId: '' }, /auth\.clientId/);
    bad({ method: 'federated_jwt', assertion: () => 'x', assertionType: 'saml' }, /auth\.assertionType/);
    assert.doesNotThrow(() => new TokenClient({ issuer: ISSUER, auth: { method: 'federated_jwt', assertion: () => 'x' } }));
    await assert.rejects(
      applyClientAuthentication({ method: 'federated_jwt', assertion: () => Promise.reject(new Error('ENOENT')) }, ISSUER, new Headers(), new URLSearchParams()),
      (e: LatchkeyClientError) => e.code === 'ERR_INVALID_OPTIONS' && /assertion source failed: ENOENT/.test(e.message),
    );
    await assert.rejects(
      applyClientAuthentication({ method: 'federated_jwt', assertion: () => '' }, ISSUER, new Headers(), new URLSearchParams()),
      (e: LatchkeyClientError) => e.code === 'ERR_INVALID_OPTIONS',
    );
  });

  it('assertionFromFile reads the file on every call (trimmed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-fed-'));
    try {
      const f = join(dir, 'token');
      const read = assertionFromFile(f);
      writeFileSync(f, 'first\n');
      assert.equal(await read(), 'first');
      writeFileSync(f, 'second');
      assert.equal(await read(), 'second');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('githubActionsAssertion asks the Actions token service for audience = the issuer, with the request token', async () => {
    const seen: { url: string; auth: string | undefined }[] = [];
    const srv = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      if (req.headers.authorization !== 'bearer req-token') return res.writeHead(403).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: 'gh-oidc-token' }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}/_apis/token?api-version=2.0`;
    try {
      const get = githubActionsAssertion(ISSUER, { ACTIONS_ID_TOKEN_REQUEST_URL: base, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-token' });
      assert.equal(await get(), 'gh-oidc-token');
      assert.equal(seen[0]!.auth, 'bearer req-token');
      const u = new URL(seen[0]!.url, 'http://x');
      assert.equal(u.searchParams.get('audience'), ISSUER);
      assert.equal(u.searchParams.get('api-version'), '2.0');
      await assert.rejects(githubActionsAssertion(ISSUER, { ACTIONS_ID_TOKEN_REQUEST_URL: base, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' })(), (e: LatchkeyClientError) => e.code === 'ERR_INVALID_RESPONSE');
      await assert.rejects(githubActionsAssertion(ISSUER, {})(), (e: LatchkeyClientError) => e.code === 'ERR_INVALID_OPTIONS' && /id-token: write/.test(e.message));
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
