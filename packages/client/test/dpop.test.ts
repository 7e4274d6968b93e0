import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createDpopVerifier, accessTokenHash } from '@latchkey/jose-core';
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from 'jose';
import { DPoPSigner, LatchkeyClientError } from '../src/index.js';

// The signer and the verifiers (server token endpoint, @latchkey/resource) share one JOSE core.
const verifier = createDpopVerifier({ maxAge: 60, clockTolerance: 5 });

describe('DPoPSigner with the shared JOSE core', () => {
  for (const alg of ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const) {
    it(`${alg}: proofs verify with the core verifier; jkt matches jose`, async () => {
      const s = await DPoPSigner.generate(alg);
      assert.equal(s.alg, alg);
      assert.equal(s.jkt, await calculateJwkThumbprint(s.publicJwk, 'sha256'));
      const url = 'https://rs.example/orders?page=2';
      const proof = s.proofSync('get', url, 'tok');
      const h = decodeProtectedHeader(proof);
      assert.equal(h.typ, 'dpop+jwt');
      assert.deepEqual(Object.keys(h.jwk as JWK).sort(), Object.keys(s.publicJwk).sort());
      const r = await verifier.verify({ proof, method: 'GET', url: 'https://rs.example/orders', accessToken: 'tok', jkt: s.jkt, replay: () => true });
      assert.equal(r.jkt, s.jkt);
      assert.equal(r.payload.ath, accessTokenHash('tok'));
    });
  }

  it('refuses keys the verifiers would refuse', async () => {
    const bad = [
      { privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey },
      { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey },
      { privateKey: generateKeyPairSync('ed448').privateKey },
      { privateKey: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey },
      { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, alg: 'ES384' },
      { privateKey: generateKeyPairSync('ed25519').privateKey, alg: 'HS256' },
    ];
    for (const input of bad) {
      await assert.rejects(DPoPSigner.fromKey(input), (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_INVALID_KEY');
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    await assert.rejects(DPoPSigner.fromKey({ privateKey, publicKey: other }), { code: 'ERR_INVALID_KEY' });
    assert.ok(await DPoPSigner.fromKey({ privateKey, alg: 'ES256' }));
  });
});
