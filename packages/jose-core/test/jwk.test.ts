import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { jwkFitsAlg, JoseError, PRIVATE_JWK_MEMBERS, validatePublicJwk, type JwkUse } from '../src/index.js';

const pub = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ format: 'jwk' }) as Record<string, unknown>;
const ec256 = pub(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
const ec384 = pub(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
const ec521 = pub(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey);
const ed = pub(generateKeyPairSync('ed25519').publicKey);
const ed448 = pub(generateKeyPairSync('ed448').publicKey);
const x25519 = pub(generateKeyPairSync('x25519').publicKey);
const rsa2048 = pub(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
const rsa1024 = pub(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
const rsaE3 = pub(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey);
const USES: JwkUse[] = ['registration', 'dpop', 'verification'];

function refused(jwk: unknown, use: JwkUse, re?: RegExp) {
  assert.throws(
    () => validatePublicJwk(jwk, use),
    (e: unknown) => e instanceof JoseError && e.code === 'ERR_JWK_INVALID' && (re === undefined || re.test(e.message)),
    `${use}: ${JSON.stringify(jwk).slice(0, 80)}`,
  );
}

describe('validatePublicJwk', () => {
  it('accepts RSA 2048, P-256/384/521 and Ed25519 for every use', () => {
    for (const use of USES) for (const k of [ec256, ec384, ec521, ed, rsa2048]) assert.equal(validatePublicJwk(k, use).key.type, 'public');
  });

  it('refuses every private member, dp included, for every use', () => {
    for (const use of USES) for (const m of PRIVATE_JWK_MEMBERS) refused({ ...ec256, [m]: 'AAAA' }, use, /private/);
    assert.deepEqual([...PRIVATE_JWK_MEMBERS].sort(), ['d', 'dp', 'dq', 'k', 'oth', 'p', 'q', 'qi']);
  });

  it('refuses unknown kty, oct keys and non-objects', () => {
    for (const use of USES) {
      for (const k of [null, 'x', [], 1, { kty: 'oct' }, { kty: 'ec', crv: 'P-256' }, {}]) refused(k, use);
    }
  });

  it('RSA: 2048–8192 bits, e = 65537 only', () => {
    for (const use of USES) {
      refused(rsa1024, use, /2048/);
      refused(rsaE3, use, /65537/);
      // 8200 bits: node would import it (no primality check), the core refuses it.
      const n = randomBytes(1025);
      n[0] = 0xff;
      refused({ kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, use, /8192/);
    }
    const n8192 = randomBytes(1024);
    n8192[0] = 0xc1;
    n8192[1023] = n8192[1023]! | 1;
    assert.equal(validatePublicJwk({ kty: 'RSA', n: n8192.toString('base64url'), e: 'AQAB' }, 'registration').key.asymmetricKeyDetails?.modulusLength, 8192);
  });

  it('EC: a point off the curve is refused (createPublicKey checks it), as are short coordinates and other curves', () => {
    const y = Buffer.from(ec256.y as string, 'base64url');
    y[31] = y[31]! ^ 1;
    for (const use of USES) {
      refused({ ...ec256, y: y.toString('base64url') }, use, /curve/);
      refused({ ...ec256, x: Buffer.from(ec256.x as string, 'base64url').subarray(1).toString('base64url') }, use, /32 bytes/);
      refused({ ...ec256, crv: 'secp256k1' }, use);
      refused({ ...ec256, crv: 'P-384' }, use);
    }
  });

  it('OKP: Ed448 and X25519 are refused everywhere', () => {
    for (const use of USES) {
      refused(ed448, use, /Ed25519/);
      refused(x25519, use, /Ed25519/);
    }
  });

  it('client keys carry only the members RFC 7517/7518 define for their type; other uses ignore unknown members (RFC 7517 §4)', () => {
    const withCommon = { ...ec256, kid: 'k1', use: 'sig', key_ops: ['verify'], alg: 'ES256', x5t: 'abc', 'x5t#S256': 'def', x5c: [] };
    assert.ok(validatePublicJwk(withCommon, 'registration'));
    refused({ ...ec256, ext: true }, 'registration', /ext/);
    refused({ ...ec256, n: 'AQAB' }, 'registration', /member n/);
    refused({ ...ed, y: ec256.y }, 'registration', /member y/);
    refused({ ...ec256, x5u: 'https://example.com/c.pem' }, 'registration', /x5u/);
    for (const use of ['dpop', 'verification'] as const) assert.ok(validatePublicJwk({ ...ec256, ext: true, key_ops: ['verify'], x5u: 'https://x' }, use));
  });

  it('alg on the key must fit the key; client keys are signature keys', () => {
    for (const use of USES) {
      refused({ ...ec256, alg: 'ES384' }, use, /alg/);
      refused({ ...rsa2048, alg: 'ES256' }, use, /alg/);
      refused({ ...ed, alg: 'RS256' }, use, /alg/);
    }
    refused({ ...ec256, alg: 'HS256' }, 'registration', /alg/);
    refused({ ...rsa2048, alg: 'RSA-OAEP' }, 'registration', /alg/);
    // RFC 7517 allows these; such a key is registered but never a verification candidate.
    assert.ok(validatePublicJwk({ ...ec256, use: 'enc' }, 'registration'));
    assert.ok(validatePublicJwk({ ...ec256, key_ops: ['encrypt'] }, 'registration'));
    assert.equal(jwkFitsAlg({ ...ec256, use: 'enc' }, 'ES256'), false);
    refused({ ...ec256, key_ops: ['verify', 'verify'] }, 'registration', /distinct/);
    // A resource server's JWKS may hold encryption keys; they import but never fit a signature alg.
    assert.ok(validatePublicJwk({ ...rsa2048, alg: 'RSA-OAEP', use: 'enc' }, 'verification'));
    assert.equal(jwkFitsAlg({ ...rsa2048, alg: 'RSA-OAEP', use: 'enc' }, 'RS256'), false);
    assert.ok(validatePublicJwk({ ...ed, alg: 'Ed25519' }, 'registration'));
    assert.ok(validatePublicJwk({ ...ed, alg: 'EdDSA' }, 'registration'));
  });

  it('jwkFitsAlg: kty/crv, alg (EdDSA ≡ Ed25519), use, key_ops', () => {
    assert.equal(jwkFitsAlg(ec256, 'ES256'), true);
    assert.equal(jwkFitsAlg(ec256, 'ES384'), false);
    assert.equal(jwkFitsAlg(ec384, 'ES384'), true);
    assert.equal(jwkFitsAlg(ec521, 'ES512'), true);
    assert.equal(jwkFitsAlg(rsa2048, 'PS512'), true);
    assert.equal(jwkFitsAlg(rsa2048, 'EdDSA'), false);
    assert.equal(jwkFitsAlg({ ...ed, alg: 'EdDSA' }, 'Ed25519'), true);
    assert.equal(jwkFitsAlg({ ...ed, alg: 'Ed25519' }, 'EdDSA'), true);
    assert.equal(jwkFitsAlg(ed448, 'EdDSA'), false);
    assert.equal(jwkFitsAlg({ ...ec256, use: 'enc' }, 'ES256'), false);
    assert.equal(jwkFitsAlg({ ...ec256, key_ops: ['encrypt'] }, 'ES256'), false);
    assert.equal(jwkFitsAlg({ ...ec256, alg: 'ES384' }, 'ES256'), false);
  });
});
