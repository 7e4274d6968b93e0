import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compactVerify, decodeProtectedHeader, exportJWK, importJWK, jwtVerify } from 'jose';
import { createPublicKey } from 'node:crypto';
import { createJwsSigner, type SigningAlg } from '../../src/keys/jws.js';
import { generateKeyPair } from '../../src/keys/keyring.js';

const ALGS: SigningAlg[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];

describe('fast JWS signer (keys/jws.ts) — every token verifies with jose', () => {
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

describe('node:crypto JWS verification (tokens/jws-verify.ts) agrees with jose', () => {
  it('property: for every algorithm, random payloads and random signature tampering, same verdict as jose.compactVerify', async () => {
    const { verifyJwsSignature } = await import('../../src/tokens/jws-verify.js');
    const { CompactSign, generateKeyPair: joseKeys } = await import('jose');
    const algs = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;
    const keys = await Promise.all(algs.map(async (alg) => ({ alg, ...(await joseKeys(alg, { extractable: true })) })));
    await fc.assert(
      fc.asyncProperty(fc.nat(algs.length - 1), fc.string(), fc.option(fc.nat(200)), async (i, text, tamper) => {
        const k = keys[i]!;
        let jws = await new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: k.alg }).sign(k.privateKey);
        if (tamper !== null) {
          const sig = Buffer.from(jws.split('.')[2]!, 'base64url');
          sig[tamper % sig.length] = sig[tamper % sig.length]! ^ 0x80;
          jws = jws.split('.').slice(0, 2).join('.') + '.' + sig.toString('base64url');
        }
        const ours = verifyJwsSignature(jws, k.alg, k.publicKey);
        const theirs = await compactVerify(jws, k.publicKey, { algorithms: [k.alg] }).then(
          () => true,
          () => false,
        );
        assert.equal(ours, theirs);
        assert.equal(ours, tamper === null);
        // Another algorithm's key never verifies.
        const other = keys[(i + 1) % keys.length]!;
        assert.equal(verifyJwsSignature(jws, k.alg, other.publicKey), false);
      }),
      { numRuns: 300 },
    );
  });
});
