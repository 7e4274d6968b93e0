import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compactVerify, decodeProtectedHeader, exportJWK, importJWK, jwtVerify } from 'jose';
import { createPublicKey } from 'node:crypto';
import { createJwsSigner, type SigningAlg } from '../../src/tokens/jws.js';
import { generateKeyPair } from '../../src/keys/keyring.js';

const ALGS: SigningAlg[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];

describe('fast JWS signer (tokens/jws.ts) — every token verifies with jose', () => {
  for (const alg of ALGS) {
    it(`${alg}: header, typ and signature verify with jose.jwtVerify`, async () => {
      const { privateKey } = generateKeyPair(alg);
      const signer = createJwsSigner(privateKey, alg, 'kid-1');
      const now = Math.floor(Date.now() / 1000);
      const jwt = signer.sign(JSON.stringify({ iss: 'https://as.example', sub: 'c1', aud: 'https://api.example', iat: now, exp: now + 60, jti: 'x' }));
      const pub = await importJWK(await exportJWK(createPublicKey(privateKey)), alg);
      const { payload, protectedHeader } = await jwtVerify(jwt, pub, {
        algorithms: [alg],
        typ: 'at+jwt',
        issuer: 'https://as.example',
        audience: 'https://api.example',
      });
      assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: 'kid-1' });
      assert.equal(payload.sub, 'c1');
    });
  }

  it('ES256 signatures are 64-byte R||S (RFC 7518 §3.4), not DER', () => {
    const { privateKey } = generateKeyPair('ES256');
    const jwt = createJwsSigner(privateKey, 'ES256', 'k').sign('{}');
    assert.equal(Buffer.from(jwt.split('.')[2]!, 'base64url').length, 64);
  });

  it('property: random claims round-trip through jose verification (ES256 and EdDSA)', async () => {
    const keys = await Promise.all(
      (['ES256', 'EdDSA'] as const).map(async (alg) => {
        const { privateKey } = generateKeyPair(alg);
        return { alg, signer: createJwsSigner(privateKey, alg, `k-${alg}`), pub: await importJWK(await exportJWK(createPublicKey(privateKey)), alg) };
      }),
    );
    const claims = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.string({ unit: 'grapheme' })),
      { maxKeys: 8 },
    );
    await fc.assert(
      fc.asyncProperty(claims, fc.constantFrom(0, 1), async (c, which) => {
        const k = keys[which]!;
        const jws = k.signer.sign(JSON.stringify(c));
        const { payload, protectedHeader } = await compactVerify(jws, k.pub, { algorithms: [k.alg] });
        assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), JSON.parse(JSON.stringify(c)));
        assert.equal(protectedHeader.kid, `k-${k.alg}`);
        assert.equal(decodeProtectedHeader(jws).typ, 'at+jwt');
      }),
      { numRuns: 300 },
    );
  });
});
