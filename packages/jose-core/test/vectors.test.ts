import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { accessTokenHash, createVerifier, jwkThumbprint, validatePublicJwk, verifyCompactJws } from '../src/index.js';

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
const RFC7638_JWK = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

// RFC 7515 Appendix A.3: ES256.
const A3_JWK = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
const A3_JWS =
  'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';

// RFC 8037 Appendix A.4: Ed25519 over the (non-JSON) payload "Example of Ed25519 signing".
const A4_X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
const A4_INPUT = 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc';
const A4_SIG = 'hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';

describe('RFC vectors', () => {
  it('RFC 7638 §3.1 thumbprint', () => {
    assert.equal(jwkThumbprint(RFC7638_JWK), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    // Optional members (kid, alg, use) do not change it.
    assert.equal(jwkThumbprint({ kty: 'RSA', n: RFC7638_JWK.n, e: 'AQAB' }), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    // The RFC's key is a valid client key (2048 bits, e=65537, RS256).
    assert.equal(validatePublicJwk(RFC7638_JWK, 'registration').key.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('RFC 7515 A.3 ES256 verifies; one flipped signature bit does not', () => {
    const { key } = validatePublicJwk(A3_JWK, 'registration');
    const v = createVerifier(key, 'ES256');
    const jws = verifyCompactJws(A3_JWS, ['ES256'], () => v);
    assert.deepEqual(jws.header, { alg: 'ES256' });
    assert.deepEqual(jws.payload, { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
    const tampered = A3_JWS.slice(0, -1) + 'A';
    assert.throws(() => verifyCompactJws(tampered, ['ES256'], () => v), { code: 'ERR_JWS_SIGNATURE_INVALID' });
    // The algorithm comes from the allow-list: the same token is refused where ES256 is not allowed.
    assert.throws(() => verifyCompactJws(A3_JWS, ['RS256'], () => v), { code: 'ERR_JWS_ALG_NOT_ALLOWED' });
  });

  it('RFC 8037 A.4 Ed25519 signature verifies with the EdDSA and Ed25519 verifiers', () => {
    const { key } = validatePublicJwk({ kty: 'OKP', crv: 'Ed25519', x: A4_X }, 'dpop');
    for (const alg of ['EdDSA', 'Ed25519'] as const) {
      assert.equal(createVerifier(key, alg).verify(A4_INPUT, Buffer.from(A4_SIG, 'base64url')), true, alg);
    }
    assert.equal(createVerifier(key, 'ES256').verify(A4_INPUT, Buffer.from(A4_SIG, 'base64url')), false);
  });

  it('RFC 9449 §4.2 ath example', () => {
    assert.equal(accessTokenHash('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'), 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });

  it('imports keys the same way node does from JWK', () => {
    const { key } = validatePublicJwk(A3_JWK, 'verification');
    assert.ok(key.equals(createPublicKey({ key: A3_JWK, format: 'jwk' })));
  });
});
