// Issue #15 item 4: "Options are validated once, in the constructor (ERR_INVALID_OPTIONS names the bad one)"
// — for every client authentication method: secret, key, key type against `alg`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, createSecretKey, webcrypto } from 'node:crypto';
import { LatchkeyClientError, TokenClient, type TokenClientOptions } from '../src/index.js';

const ISSUER = 'https://as.example.com';

function constructs(options: unknown): void {
  new TokenClient(options as TokenClientOptions);
}

/** The constructor throws ERR_INVALID_OPTIONS and the message names `option`. */
function refused(options: unknown, option: string, label: string): void {
  assert.throws(
    () => constructs(options),
    (e: unknown) => {
      assert.ok(e instanceof LatchkeyClientError, `${label}: ${String(e)}`);
      assert.equal(e.code, 'ERR_INVALID_OPTIONS', `${label}: ${e.message}`);
      assert.ok(e.message.startsWith(`${option}:`) || e.message.startsWith(`${option} `), `${label}: "${e.message}" should name ${option}`);
      return true;
    },
    label,
  );
}

const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
const ed25519 = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });

test('client secret methods: clientSecret is required, in the constructor', () => {
  for (const method of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt']) {
    refused({ issuer: ISSUER, auth: { method, clientId: 'c' } }, 'auth.clientSecret', `${method} without secret`);
    refused({ issuer: ISSUER, auth: { method, clientId: 'c', clientSecret: '' } }, 'auth.clientSecret', `${method} empty secret`);
    refused({ issuer: ISSUER, auth: { method, clientId: 'c', clientSecret: 42 } }, 'auth.clientSecret', `${method} number secret`);
    constructs({ issuer: ISSUER, auth: { method, clientId: 'c', clientSecret: 's' } });
  }
  refused({ issuer: ISSUER, auth: { method: 'client_secret_jwt', clientId: 'c', clientSecret: 's', alg: 'RS256' } }, 'auth.alg', 'client_secret_jwt with RS256');
  for (const alg of ['HS256', 'HS384', 'HS512']) constructs({ issuer: ISSUER, auth: { method: 'client_secret_jwt', clientId: 'c', clientSecret: 's', alg } });
});

test('method and clientId', () => {
  refused({ issuer: ISSUER }, 'auth', 'no auth');
  refused({ issuer: ISSUER, auth: { method: 'none', clientId: 'c' } }, 'auth.method', 'unknown method');
  refused({ issuer: ISSUER, auth: { method: 'client_secret_basic', clientSecret: 's' } }, 'auth.clientId', 'no clientId');
  refused({ tokenEndpoint: `${ISSUER}/token`, auth: { method: 'private_key_jwt', clientId: 'c', privateKey: ec256.privateKey } }, 'issuer', 'assertion without issuer');
  constructs({ issuer: ISSUER, auth: { method: 'tls_client_auth', clientId: 'c' } });
  constructs({ issuer: ISSUER, auth: { method: 'self_signed_tls_client_auth', clientId: 'c' } });
});

test('private_key_jwt: the key must be a usable private key', async () => {
  const pkj = (privateKey: unknown, extra: Record<string, unknown> = {}) => ({ issuer: ISSUER, auth: { method: 'private_key_jwt', clientId: 'c', privateKey, ...extra } });
  refused(pkj(undefined), 'auth.privateKey', 'missing key');
  refused(pkj('-----BEGIN PRIVATE KEY-----'), 'auth.privateKey', 'a PEM string');
  refused(pkj(ec256.publicKey), 'auth.privateKey', 'public KeyObject');
  refused(pkj(createSecretKey(Buffer.alloc(32, 1))), 'auth.privateKey', 'secret KeyObject');
  refused(pkj(ec256.publicKey.export({ format: 'jwk' })), 'auth.privateKey', 'public JWK');
  refused(pkj({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }), 'auth.privateKey', 'broken JWK');
  refused(pkj(secp256k1.privateKey), 'auth.privateKey', 'curve without a JWS algorithm here');
  refused(pkj(rsa1024.privateKey), 'auth.privateKey', 'RSA under 2048 bits (RFC 7518 §3.3)');
  const pub = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  refused(pkj(pub.publicKey), 'auth.privateKey', 'public CryptoKey');
  refused(pkj(ec256.privateKey, { kid: 7 }), 'auth.kid', 'kid not a string');
});

test('private_key_jwt: key type against alg', async () => {
  const pkj = (privateKey: unknown, alg?: string) => ({ issuer: ISSUER, auth: { method: 'private_key_jwt', clientId: 'c', privateKey, ...(alg ? { alg } : {}) } });
  refused(pkj(ec256.privateKey, 'RS256'), 'auth.alg', 'EC key, RS256');
  refused(pkj(ec256.privateKey, 'ES384'), 'auth.alg', 'P-256 key, ES384');
  refused(pkj(ec384.privateKey, 'ES256'), 'auth.alg', 'P-384 key, ES256');
  refused(pkj(rsa.privateKey, 'ES256'), 'auth.alg', 'RSA key, ES256');
  refused(pkj(rsaPss.privateKey, 'RS256'), 'auth.alg', 'RSA-PSS key, RS256');
  refused(pkj(ed25519.privateKey, 'ES256'), 'auth.alg', 'Ed25519 key, ES256');
  refused(pkj(rsa.privateKey, 'HS256'), 'auth.alg', 'HMAC for private_key_jwt');
  refused(pkj(rsa.privateKey, 'none'), 'auth.alg', 'none');
  refused(pkj({ ...ec256.privateKey.export({ format: 'jwk' }), alg: 'RS256' }), 'auth.alg', 'JWK whose alg does not fit');
  const rsaCk = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign', 'verify']);
  refused(pkj(rsaCk.privateKey, 'RS384'), 'auth.alg', 'CryptoKey bound to SHA-256, RS384');
  // And what fits is accepted, inferred or explicit.
  for (const [key, alg] of [
    [ec256.privateKey, undefined], [ec256.privateKey, 'ES256'], [ec384.privateKey, 'ES384'],
    [ed25519.privateKey, 'EdDSA'], [ed25519.privateKey, 'Ed25519'], [rsa.privateKey, 'RS512'], [rsa.privateKey, 'PS256'],
    [rsaPss.privateKey, undefined], [rsaPss.privateKey, 'PS384'], [ec256.privateKey.export({ format: 'jwk' }), undefined],
    [rsaCk.privateKey, undefined], [rsaCk.privateKey, 'RS256'],
  ] as const) {
    constructs(pkj(key, alg));
  }
});

test('a bad key never reaches the network: ERR_INVALID_OPTIONS at construction, not ERR_NETWORK at getToken()', async () => {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    refused({ issuer, auth: { method: 'private_key_jwt', clientId: 'c' } }, 'auth.privateKey', 'missing key');
    refused({ issuer, auth: { method: 'client_secret_basic', clientId: 'c' } }, 'auth.clientSecret', 'missing secret');
    assert.equal(requests, 0);
  } finally {
    server.close();
  }
});

test('dpop key: checked in the constructor too', () => {
  const base = { issuer: ISSUER, auth: { method: 'client_secret_basic', clientId: 'c', clientSecret: 's' } };
  refused({ ...base, dpop: { privateKey: ec256.publicKey } }, 'dpop.privateKey', 'public DPoP key');
  refused({ ...base, dpop: { privateKey: createSecretKey(Buffer.alloc(32, 1)) } }, 'dpop.privateKey', 'symmetric DPoP key (RFC 9449 §4.2)');
  refused({ ...base, dpop: { privateKey: ec256.privateKey, alg: 'ES384' } }, 'dpop.alg', 'P-256 DPoP key, ES384');
  refused({ ...base, dpop: 'yes' }, 'dpop', 'not a key');
  constructs({ ...base, dpop: { privateKey: ec256.privateKey } });
  constructs({ ...base, dpop: true });
});
