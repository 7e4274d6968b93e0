import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createResourceServer, jwkThumbprint, MemoryReplayStore, type ResourceErrorCode } from '../src/index.js';
import { nowSeconds, startIssuer, type TestIssuer } from './helpers/issuer.js';

const URL_ = 'https://api.example.test/orders';

interface Holder {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

async function holder(alg = 'ES256'): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

async function proof(
  h: Holder,
  token: string,
  o: { htm?: string; htu?: string; iat?: number; jti?: string; ath?: string | null; typ?: string; jwk?: JWK; alg?: string } = {},
): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: o.jti ?? randomUUID(),
    htm: o.htm ?? 'GET',
    htu: o.htu ?? URL_,
    iat: o.iat ?? nowSeconds(),
  };
  if (o.ath !== null) payload.ath = o.ath ?? createHash('sha256').update(token).digest('base64url');
  return new SignJWT(payload)
    .setProtectedHeader({ alg: o.alg ?? 'ES256', typ: o.typ ?? 'dpop+jwt', jwk: o.jwk ?? h.jwk })
    .sign(h.privateKey);
}

describe('DPoP-bound tokens (RFC 9449 §7)', () => {
  let as: TestIssuer;
  let h: Holder;
  before(async () => {
    as = await startIssuer();
    h = await holder();
  });
  after(() => as.close());

  const rs = (extra: object = {}) => createResourceServer({ issuer: as.issuer, audience: as.audience, ...extra });
  const call = (server: ReturnType<typeof rs>, token: string, dpop: string | string[] | undefined, url = `${URL_}?page=2`, method = 'GET') =>
    server.authenticate({ method, url, headers: { authorization: `DPoP ${token}`, ...(dpop === undefined ? {} : { dpop }) } });

  async function fails(p: ReturnType<typeof call>, code: ResourceErrorCode, error: string) {
    const out = await p;
    assert.equal(out.ok, false);
    if (out.ok) return;
    assert.equal(out.error.code, code, out.error.detail);
    assert.equal(out.response.status, 401);
    const challenge = [out.response.headers['www-authenticate']].flat().find((c) => c!.startsWith('DPoP'))!;
    assert.ok(challenge.includes(`error="${error}"`), challenge);
    assert.ok(challenge.includes('algs="'), challenge);
  }

  it('thumbprints match RFC 7638 (jose as reference, plus the RFC 7638 §3.1 example)', async () => {
    assert.equal(jwkThumbprint(h.jwk), h.jkt);
    const rfcExample = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(jwkThumbprint(rfcExample), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('accepts a valid proof; htu ignores query, and the proof cannot be replayed', async () => {
    const server = rs();
    const token = await as.sign({ cnf: { jkt: h.jkt } });
    const p = await proof(h, token);
    const out = await call(server, token, p);
    assert.equal(out.ok, true, out.ok ? '' : out.error.detail);
    assert.deepEqual(out.ok && out.auth.binding, { type: 'dpop', jkt: h.jkt });
    await fails(call(server, token, p), 'ERR_DPOP_PROOF_REPLAYED', 'invalid_dpop_proof');
    assert.equal((await call(server, token, await proof(h, token))).ok, true);
  });

  it('rejects a DPoP-bound token presented as Bearer (RFC 9449 §7.2)', async () => {
    const server = rs();
    const token = await as.sign({ cnf: { jkt: h.jkt } });
    const out = await server.authenticate({ method: 'GET', url: URL_, headers: { authorization: `Bearer ${token}`, dpop: await proof(h, token) } });
    assert.equal(!out.ok && out.error.code, 'ERR_TOKEN_SENDER_CONSTRAINED');
    assert.equal(!out.ok && out.response.status, 401);
    await assert.rejects(server.verify(token), { code: 'ERR_TOKEN_SENDER_CONSTRAINED' });
  });

  it('rejects the DPoP scheme with an unbound token', async () => {
    const token = await as.sign();
    await fails(call(rs(), token, await proof(h, token)), 'ERR_DPOP_NOT_BOUND', 'invalid_token');
  });

  it('every RFC 9449 §4.3 check', async () => {
    const server = rs();
    const token = await as.sign({ cnf: { jkt: h.jkt } });
    await fails(call(server, token, undefined), 'ERR_DPOP_PROOF_MISSING', 'invalid_dpop_proof');
    await fails(call(server, token, [await proof(h, token), await proof(h, token)]), 'ERR_DPOP_PROOF_MISSING', 'invalid_dpop_proof');
    await fails(call(server, token, 'not-a-jwt'), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { htm: 'POST' })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { htu: 'https://api.example.test/other' })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { htu: 'https://evil.example/orders' })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { iat: nowSeconds() - 600 })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { iat: nowSeconds() + 600 })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { ath: null })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { ath: 'x'.repeat(43) })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    await fails(call(server, token, await proof(h, token, { typ: 'JWT' })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    // Private key material in the header jwk (step 7).
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privJwk = await exportJWK(privateKey);
    await fails(call(server, token, await proof({ ...h, privateKey }, token, { jwk: privJwk })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    // Signed by a key other than the one in the header (step 6).
    await fails(call(server, token, await proof({ ...h, privateKey }, token, { jwk: h.jwk })), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
    // Another holder's valid proof: key binding mismatch → invalid_token (RFC 9449 §7.1).
    const other = await holder();
    await fails(call(server, token, await proof(other, token)), 'ERR_DPOP_KEY_MISMATCH', 'invalid_token');
    // The proof was made for another access token (ath).
    const token2 = await as.sign({ cnf: { jkt: h.jkt } });
    await fails(call(server, token, await proof(h, token2)), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
  });

  it('HMAC or none proofs are refused (step 5)', async () => {
    const server = rs();
    const token = await as.sign({ cnf: { jkt: h.jkt } });
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${enc({ typ: 'dpop+jwt', alg: 'none', jwk: h.jwk })}.${enc({ jti: 'a', htm: 'GET', htu: URL_, iat: nowSeconds() })}.AA`;
    await fails(call(server, token, none), 'ERR_DPOP_PROOF_INVALID', 'invalid_dpop_proof');
  });

  it('publicOrigin overrides the origin the request claims', async () => {
    const server = rs({ publicOrigin: 'https://api.example.test' });
    const token = await as.sign({ cnf: { jkt: h.jkt } });
    const out = await server.authenticate({ method: 'GET', url: 'http://10.0.0.7:8080/orders', headers: { authorization: `DPoP ${token}`, dpop: await proof(h, token) } });
    assert.equal(out.ok, true, out.ok ? '' : out.error.detail);
  });

  it('dpop.required refuses Bearer and advertises only DPoP', async () => {
    const server = rs({ dpop: { required: true } });
    const out = await server.authenticate({ method: 'GET', url: URL_, headers: { authorization: `Bearer ${await as.sign()}` } });
    assert.equal(!out.ok && out.error.code, 'ERR_DPOP_REQUIRED');
    assert.equal(!out.ok && typeof out.response.headers['www-authenticate'] === 'string' && out.response.headers['www-authenticate'].startsWith('DPoP '), true);
  });

  it('dpop: false → DPoP scheme is unknown: 401 with a Bearer-only challenge', async () => {
    const server = rs({ dpop: false });
    const token = await as.sign({ cnf: { jkt: h.jkt } });
    const out = await call(server, token, await proof(h, token));
    assert.equal(!out.ok && out.error.code, 'ERR_MISSING_TOKEN');
    assert.equal(!out.ok && out.response.headers['www-authenticate'], 'Bearer');
  });

  it('MemoryReplayStore remembers at least the last maxEntries proofs, holds at most twice that, forgets expired ones', () => {
    const store = new MemoryReplayStore(3);
    assert.equal(store.checkAndStore('a', 1000, 0), true);
    assert.equal(store.checkAndStore('a', 1000, 10), false);
    for (const k of ['b', 'c', 'd', 'e']) assert.equal(store.checkAndStore(k, 1000, 0), true);
    assert.ok(store.size <= 6, `size ${store.size}`);
    for (const k of ['c', 'd', 'e']) assert.equal(store.checkAndStore(k, 1000, 20), false, `the last 3 are remembered (${k})`);
    assert.equal(store.checkAndStore('e', 3000, 2000), true, 'expired entries are forgotten');
    // Many more proofs than the bound: memory stays flat, the most recent ones are still refused.
    for (let i = 0; i < 1000; i++) store.checkAndStore(`p${i}`, 5000, 2000);
    assert.ok(store.size <= 6);
    for (const i of [997, 998, 999]) assert.equal(store.checkAndStore(`p${i}`, 5000, 2100), false);
  });
});
