import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import {
  applyClientAuthentication,
  basicAuthorization,
  formUrlEncode,
  JWT_BEARER_ASSERTION_TYPE,
  LatchkeyClientError,
} from '../src/index.js';

const ISSUER = 'https://as.example.com';

function fresh() {
  return { headers: new Headers(), body: new URLSearchParams({ grant_type: 'client_credentials' }) };
}

test('formUrlEncode follows application/x-www-form-urlencoded (RFC 6749 Appendix B)', () => {
  assert.equal(formUrlEncode('a b'), 'a+b');
  assert.equal(formUrlEncode('a:b'), 'a%3Ab');
  assert.equal(formUrlEncode('100%'), '100%25');
  assert.equal(formUrlEncode('a+b'), 'a%2Bb');
  assert.equal(formUrlEncode('é'), '%C3%A9');
  assert.equal(formUrlEncode('abc-._*XYZ019'), 'abc-._*XYZ019');
});

test('client_secret_basic form-url-encodes id and secret before base64 (RFC 6749 §2.3.1)', async () => {
  const { headers, body } = fresh();
  await applyClientAuthentication({ method: 'client_secret_basic', clientId: 'my client:1', clientSecret: 's3cr+t %/é' }, ISSUER, headers, body);
  const value = headers.get('authorization');
  assert.ok(value?.startsWith('Basic '));
  const decoded = Buffer.from(value!.slice(6), 'base64').toString('utf8');
  assert.equal(decoded, 'my+client%3A1:s3cr%2Bt+%25%2F%C3%A9');
  // The colon separating id and secret is the only raw colon, so a server can split unambiguously.
  assert.equal(decoded.split(':').length, 2);
  assert.equal(body.get('client_id'), null);
  assert.equal(body.get('client_secret'), null);
  assert.equal(basicAuthorization('a', 'b'), `Basic ${Buffer.from('a:b').toString('base64')}`);
});

test('client_secret_post puts id and secret in the body', async () => {
  const { headers, body } = fresh();
  await applyClientAuthentication({ method: 'client_secret_post', clientId: 'c1', clientSecret: 'sec ret' }, ISSUER, headers, body);
  assert.equal(body.get('client_id'), 'c1');
  assert.equal(body.get('client_secret'), 'sec ret');
  assert.equal(headers.get('authorization'), null);
  assert.match(body.toString(), /client_secret=sec\+ret/);
});

test('client_secret_jwt signs an RFC 7523 assertion with aud = issuer (single string)', async () => {
  const { headers, body } = fresh();
  const secret = 'a-very-long-shared-secret-of-at-least-32-bytes!!';
  await applyClientAuthentication({ method: 'client_secret_jwt', clientId: 'c2', clientSecret: secret, alg: 'HS384' }, ISSUER, headers, body);
  assert.equal(body.get('client_assertion_type'), JWT_BEARER_ASSERTION_TYPE);
  assert.equal(body.get('client_id'), 'c2');
  const jwt = body.get('client_assertion')!;
  const { payload, protectedHeader } = await jwtVerify(jwt, new TextEncoder().encode(secret), { algorithms: ['HS384'] });
  assert.equal(protectedHeader.alg, 'HS384');
  assert.equal(payload.iss, 'c2');
  assert.equal(payload.sub, 'c2');
  assert.equal(payload.aud, ISSUER);
  assert.equal(typeof payload.aud, 'string');
  assert.equal(payload.exp! - payload.iat!, 60);
  assert.ok(typeof payload.jti === 'string' && payload.jti.length >= 16);
  assert.equal(headers.get('authorization'), null);
});

test('private_key_jwt accepts a JWK, a KeyObject and a CryptoKey; each assertion has a unique jti', async () => {
  const ec = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(ec.privateKey)), kid: 'k1' };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const cases = [
    { privateKey: jwk, verifyKey: ec.publicKey, alg: 'ES256', kid: 'k1' },
    { privateKey: ec.privateKey, verifyKey: ec.publicKey, alg: 'ES256', kid: undefined },
    { privateKey: rsa.privateKey, verifyKey: rsa.publicKey, alg: 'RS256', kid: undefined },
    { privateKey: ed.privateKey, verifyKey: ed.publicKey, alg: 'EdDSA', kid: undefined },
  ] as const;
  const jtis = new Set<string>();
  for (const c of cases) {
    for (let i = 0; i < 2; i++) {
      const { headers, body } = fresh();
      await applyClientAuthentication({ method: 'private_key_jwt', clientId: 'c3', privateKey: c.privateKey }, ISSUER, headers, body);
      const jwt = body.get('client_assertion')!;
      assert.equal(decodeProtectedHeader(jwt).kid, c.kid);
      const { payload, protectedHeader } = await jwtVerify(jwt, c.verifyKey, { issuer: 'c3', subject: 'c3', audience: ISSUER });
      assert.equal(protectedHeader.alg, c.alg);
      assert.equal(payload.aud, ISSUER);
      jtis.add(payload.jti!);
    }
  }
  assert.equal(jtis.size, cases.length * 2);
});

test('tls_client_auth sends only client_id', async () => {
  const { headers, body } = fresh();
  await applyClientAuthentication({ method: 'tls_client_auth', clientId: 'c4' }, ISSUER, headers, body);
  assert.equal(body.get('client_id'), 'c4');
  assert.equal(body.get('client_secret'), null);
  assert.equal(headers.get('authorization'), null);
});

test('bad inputs raise typed errors', async () => {
  const cases: Array<[unknown, string]> = [
    [{ method: 'client_secret_basic', clientId: '', clientSecret: 'x' }, 'ERR_INVALID_OPTIONS'],
    [{ method: 'client_secret_post', clientId: 'x', clientSecret: '' }, 'ERR_INVALID_OPTIONS'],
    [{ method: 'client_secret_jwt', clientId: 'x', clientSecret: 's', alg: 'RS256' }, 'ERR_INVALID_OPTIONS'],
    [{ method: 'private_key_jwt', clientId: 'x', privateKey: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } }, 'ERR_INVALID_KEY'],
    [{ method: 'private_key_jwt', clientId: 'x', privateKey: generateKeyPairSync('ed25519').publicKey }, 'ERR_INVALID_KEY'],
    [{ method: 'none', clientId: 'x' }, 'ERR_INVALID_OPTIONS'],
  ];
  for (const [auth, code] of cases) {
    const { headers, body } = fresh();
    await assert.rejects(
      applyClientAuthentication(auth as never, ISSUER, headers, body),
      (e: unknown) => e instanceof LatchkeyClientError && e.code === code,
      JSON.stringify((auth as { method: string }).method),
    );
  }
  const { headers, body } = fresh();
  await assert.rejects(
    applyClientAuthentication({ method: 'client_secret_jwt', clientId: 'x', clientSecret: 's' }, '', headers, body),
    (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_INVALID_OPTIONS',
  );
});

test('property: Basic credentials round-trip through form-url-decoding for any id and secret', async () => {
  const fc = await import('fast-check');
  fc.assert(
    fc.property(fc.string({ unit: 'binary', minLength: 1 }), fc.string({ unit: 'binary', minLength: 1 }), (id, secret) => {
      const header = basicAuthorization(id, secret);
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const [user, pass, ...rest] = decoded.split(':');
      assert.equal(rest.length, 0, 'exactly one unencoded colon');
      // What a server does per RFC 6749 §2.3.1: form-url-decode each half.
      const formDecode = (s: string) => new URLSearchParams(`v=${s}`).get('v');
      assert.equal(formDecode(user!), wellFormed(id));
      assert.equal(formDecode(pass!), wellFormed(secret));
    }),
    { numRuns: 500 },
  );
});

/** String.prototype.toWellFormed (ES2024): lone surrogates become U+FFFD, as UTF-8 encoding does. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
