/** verifyOwnToken failure codes and the revoked-jti cache, against a real keyring and store. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { looksLikeJwt, ownTokenVerifier, type OwnTokenVerifier } from '../../src/tokens/verify-own.js';
import { RevocationCache } from '../../src/tokens/revocations.js';

describe('verifyOwnToken (RFC 9068 §4 as applied by the issuer)', () => {
  let srv: TestServer;
  /** One verifier for the whole suite, as a server has one (its unknown-kid reload throttle is shared). */
  let own: OwnTokenVerifier;
  before(async () => {
    srv = await startTestServer();
    own = ownTokenVerifier(srv.services.keyring, srv.issuer);
  });
  after(() => srv.close());
  const verifyOwnToken = (token: string) => own.verify(token);

  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ iss: srv.issuer, sub: 'c', client_id: 'c', aud: 'https://api', iat: now(), exp: now() + 60, jti: 'j1', scope: 'a' });
  const sign = (payload: Record<string, unknown>) => srv.services.keyring.signer().sign(JSON.stringify(payload));

  it('accepts a token we signed and returns its claims and kid', async () => {
    const t = sign(claims());
    const r = await verifyOwnToken(t);
    assert.equal(r.ok, true);
    assert.ok(r.ok && r.claims.jti === 'j1' && r.kid === srv.services.keyring.signer().kid);
  });

  it('each failure has its stable code', async () => {
    const k = srv.services.keyring;
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const kid = k.signer().kid;
    const cases: [string, string][] = [
      ['not-a-jwt', 'ERR_OWN_TOKEN_MALFORMED'],
      ['e30.e30.e30', 'ERR_OWN_TOKEN_UNKNOWN_KEY'],
      [await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'nope' }).sign(foreign), 'ERR_OWN_TOKEN_UNKNOWN_KEY'],
      [await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(foreign), 'ERR_OWN_TOKEN_SIGNATURE'],
      [sign({ ...claims(), iat: now() - 100, exp: now() - 1 }), 'ERR_OWN_TOKEN_EXPIRED'],
      [sign({ ...claims(), iss: 'https://elsewhere.example' }), 'ERR_OWN_TOKEN_CLAIMS'],
      [sign({ ...claims(), client_id: undefined }), 'ERR_OWN_TOKEN_CLAIMS'],
      [sign({ ...claims(), scope: 42 }), 'ERR_OWN_TOKEN_CLAIMS'],
      [sign({ ...claims(), aud: [] }), 'ERR_OWN_TOKEN_CLAIMS'],
    ];
    for (const [token, code] of cases) {
      const r = await verifyOwnToken(token);
      assert.deepEqual(r, { ok: false, code }, token.slice(0, 40));
    }
    assert.equal(looksLikeJwt('a.b'), false);
    assert.equal(looksLikeJwt('a.b.c'), true);
    assert.equal(looksLikeJwt('a.b.c'.padEnd(20_000, 'c')), false, 'oversized input is not even parsed');
  });

  it('a key published by another process is found after one reload (kid unknown at first)', async () => {
    // Insert a key behind this keyring's back, the way another node or the CLI would. The change feed is
    // stopped so that only verifyOwnToken's own reload can find it.
    srv.services.feed.stop();
    const { Keyring } = await import('../../src/keys/keyring.js');
    const other = new Keyring(srv.services.store, srv.services.sealer, { alg: 'ES256', prePublishSeconds: 0, maxTokenTtlSeconds: 3600 });
    await other.load();
    const rec = await other.rotate({ prePublishSeconds: 0 });
    await other.load();
    const token = other.signer().sign(JSON.stringify(claims()));
    assert.equal(srv.services.keyring.publicKey(rec.kid), undefined, 'not loaded yet');
    // Reloads for unknown kids are limited to one per second (forged kids must not cause a reload storm);
    // the previous test used this second's reload.
    await new Promise((r) => setTimeout(r, 1100));
    const r = await verifyOwnToken(token);
    assert.equal(r.ok, true);
  });
});

describe('RevocationCache', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('loads live revocations, adds local ones, takes feed events with an upper-bound expiry, sweeps expired ones', async () => {
    const now = Math.floor(Date.now() / 1000);
    await srv.services.store.revokeJti('live', 'c', now + 100);
    await srv.services.store.revokeJti('dead', 'c', now - 100);
    const c = new RevocationCache(srv.services.store, 3600);
    await c.load(now);
    assert.equal(c.has('live'), true);
    assert.equal(c.has('dead'), false, 'revocations of expired tokens are not loaded');
    c.add('local', now + 10);
    c.noteRevoked('remote', now);
    assert.equal(c.size, 3);
    assert.equal(c.sweep(now + 11), 1, 'local expired');
    assert.equal(c.sweep(now + 101), 1, 'live expired');
    assert.equal(c.has('remote'), true, 'a feed event is kept for the longest lifetime + 60 s');
    assert.equal(c.sweep(now + 3661), 1);
    assert.equal(c.size, 0);
  });
});
