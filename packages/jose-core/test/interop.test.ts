import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { compactVerify, CompactSign, exportJWK, calculateJwkThumbprint } from 'jose';
import { ASYMMETRIC_ALGS, createSigner, createVerifier, jwkThumbprint, PROFILES, signingAlgFor, validatePublicJwk, verifyCompactJws, type AsymmetricAlg } from '../src/index.js';

function pair(alg: AsymmetricAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  const p = PROFILES[alg];
  if (p.kty === 'EC') return generateKeyPairSync('ec', { namedCurve: p.crv! });
  if (p.kty === 'OKP') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

describe('interop with the jose package', () => {
  for (const alg of ASYMMETRIC_ALGS) {
    it(`${alg}: jose signs → core verifies; core signs → jose verifies`, async () => {
      const { privateKey, publicKey } = pair(alg);
      const jwk = await exportJWK(publicKey);
      const { key } = validatePublicJwk(jwk, 'registration');
      const payload = new TextEncoder().encode(JSON.stringify({ sub: 'x', n: 1 }));
      const byJose = await new CompactSign(payload).setProtectedHeader({ alg, kid: 'k' }).sign(privateKey);
      const v = createVerifier(key, alg);
      assert.deepEqual(verifyCompactJws(byJose, [alg], () => v).payload, { sub: 'x', n: 1 });

      const input = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
      const byCore = `${input}.${createSigner(privateKey, alg)(Buffer.from(input)).toString('base64url')}`;
      const r = await compactVerify(byCore, publicKey, { algorithms: [alg] });
      assert.equal(r.protectedHeader.alg, alg);
      // And the core's own signature round-trips.
      assert.ok(verifyCompactJws(byCore, [alg], () => v));
      assert.equal(jwkThumbprint(jwk as Record<string, unknown>), await calculateJwkThumbprint(jwk, 'sha256'));
    });
  }

  it('signingAlgFor picks the natural algorithm and refuses mismatches', () => {
    assert.equal(signingAlgFor(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey), 'ES384');
    assert.equal(signingAlgFor(generateKeyPairSync('ed25519').privateKey), 'EdDSA');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    assert.equal(signingAlgFor(rsa), 'RS256');
    assert.equal(signingAlgFor(rsa, 'PS384'), 'PS384');
    assert.throws(() => signingAlgFor(rsa, 'ES256'), { code: 'ERR_KEY_UNSUPPORTED' });
    assert.throws(() => signingAlgFor(generateKeyPairSync('ed448').privateKey), { code: 'ERR_KEY_UNSUPPORTED' });
    assert.throws(() => signingAlgFor(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey), { code: 'ERR_KEY_UNSUPPORTED' });
    assert.throws(() => createSigner(generateKeyPairSync('ed25519').publicKey, 'EdDSA'), { code: 'ERR_KEY_UNSUPPORTED' });
  });
});
