// Interop: @latchkey/client against node-oidc-provider, an independent authorization server,
// to prove the client is not Latchkey-only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, calculateJwkThumbprint, type JWK } from 'jose';
import { DPoPSigner, OAuthErrorResponse, TokenClient, type TokenClientEvent } from '../src/index.js';
import { API, startOidcProvider, type OidcProviderServer } from './helpers/oidc-provider.js';

let op: OidcProviderServer;
let privateJwk: JWK;

before(async () => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  privateJwk = { ...(await exportJWK(privateKey)), kid: 'client-key-1', alg: 'ES256' };
  op = await startOidcProvider({ privateJwk: privateJwk });
});
after(() => op.close());

async function verifyAccessToken(token: string) {
  const jwks = (await (await fetch(`${op.issuer}/jwks`)).json()) as { keys: JWK[] };
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: op.issuer, audience: API, typ: 'at+jwt' });
}

describe('every client authentication method against oidc-provider', () => {
  const cases = () =>
    [
      { method: 'client_secret_basic', clientId: op.clients.basic.id, clientSecret: op.clients.basic.secret },
      { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret },
      { method: 'client_secret_jwt', clientId: op.clients.jwt.id, clientSecret: op.clients.jwt.secret },
      { method: 'private_key_jwt', clientId: op.clients.privateKey.id, privateKey: privateJwk as webcrypto.JsonWebKey },
    ] as const;
  for (const method of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']) {
    test(method, async () => {
      const auth = cases().find((c) => c.method === method)!;
      const client = new TokenClient({ issuer: op.issuer, auth, scope: 'read' });
      const token = await client.getToken();
      assert.equal(token.tokenType, 'Bearer');
      assert.equal(token.scope, 'read');
      const { payload } = await verifyAccessToken(token.accessToken);
      assert.equal(payload.client_id, auth.clientId);
      assert.equal(payload.scope, 'read');
      assert.equal(payload.aud, API);
      // expiresAt is counted from when the request was sent, so it never exceeds the server's exp.
      assert.ok(token.expiresAt <= payload.exp! * 1000 + 1000);
    });
  }
});

test('discovery falls back to /.well-known/openid-configuration and is cached', async () => {
  const client = new TokenClient({ issuer: op.issuer, auth: { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret } });
  const m = await client.metadata();
  assert.equal(m.issuer, op.issuer);
  assert.equal(m.token_endpoint, `${op.issuer}/token`);
  assert.equal(await client.metadata(), m);
});

test('an issuer that does not match the metadata is refused (RFC 8414 §3.3)', async () => {
  const client = new TokenClient({
    issuer: `${op.issuer}/`,
    auth: { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret },
    retry: false,
  });
  await assert.rejects(client.getToken(), (e: any) => e.code === 'ERR_DISCOVERY');
});

test('1,000 concurrent getToken() calls make exactly one token request (counted at the server)', async () => {
  const client = new TokenClient({ issuer: op.issuer, auth: { method: 'client_secret_basic', clientId: op.clients.basic.id, clientSecret: op.clients.basic.secret }, scope: 'read write' });
  await client.metadata();
  const before = op.tokenRequests();
  const tokens = await Promise.all(Array.from({ length: 1000 }, () => client.getToken()));
  assert.equal(op.tokenRequests() - before, 1);
  assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1);
  // Same scope set in another order and with duplicates: same cache entry.
  const again = await client.getToken({ scope: ['write', 'read', 'read'] });
  assert.equal(again.accessToken, tokens[0]!.accessToken);
  assert.equal(op.tokenRequests() - before, 1);
  // A different scope set is a different token.
  const readOnly = await client.getToken({ scope: 'read' });
  assert.notEqual(readOnly.accessToken, tokens[0]!.accessToken);
  assert.equal(decodeJwt(readOnly.accessToken).scope, 'read');
  assert.equal(op.tokenRequests() - before, 2);
});

test('resource indicator is sent (RFC 8707) and selects the audience', async () => {
  const client = new TokenClient({ issuer: op.issuer, auth: { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret } });
  const token = await client.getToken({ resource: API, scope: 'write' });
  assert.equal(decodeJwt(token.accessToken).aud, API);
  const err = await client.getToken({ resource: 'https://unknown.example/', scope: 'write' }).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OAuthErrorResponse);
  assert.equal(err.error, 'invalid_target');
});

test('invalid_client and invalid_scope are typed, carry the RFC code, and are never retried', async () => {
  const events: TokenClientEvent[] = [];
  const bad = new TokenClient({
    issuer: op.issuer,
    auth: { method: 'client_secret_basic', clientId: op.clients.basic.id, clientSecret: 'wrong' },
    retry: { baseDelayMs: 1 },
    onEvent: (e) => events.push(e),
  });
  await bad.metadata();
  let before = op.tokenRequests();
  await assert.rejects(bad.getToken(), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_client' && e.status === 401 && !e.retryable);
  assert.equal(op.tokenRequests() - before, 1);
  assert.equal(events.filter((e) => e.type === 'retry').length, 0);
  const failed = events.find((e) => e.type === 'refresh_failed');
  assert.ok(failed && failed.type === 'refresh_failed' && failed.background === false);
  assert.ok(!JSON.stringify(failed).includes('wrong'), 'events never carry the secret');

  const scoped = new TokenClient({ issuer: op.issuer, auth: { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret }, retry: { baseDelayMs: 1 } });
  await scoped.metadata();
  before = op.tokenRequests();
  await assert.rejects(scoped.getToken({ scope: 'admin' }), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_scope');
  assert.equal(op.tokenRequests() - before, 1);
});

test('DPoP: token bound to the key (cnf.jkt), token_type DPoP, proofs on API calls', async () => {
  const client = new TokenClient({ issuer: op.issuer, auth: { method: 'client_secret_post', clientId: op.clients.post.id, clientSecret: op.clients.post.secret }, dpop: true, scope: 'read' });
  const token = await client.getToken();
  assert.equal(token.tokenType, 'DPoP');
  const signer = (await client.dpop())!;
  const { payload } = await verifyAccessToken(token.accessToken);
  assert.deepEqual(payload.cnf, { jkt: signer.jkt });
  assert.equal(await calculateJwkThumbprint(signer.publicJwk), signer.jkt);

  // A resource server that checks the proof the way RFC 9449 §7 says.
  const seen: Array<{ authorization?: string; dpop?: string }> = [];
  const rs = createServer((req, res) => {
    seen.push({ authorization: req.headers.authorization, dpop: req.headers.dpop as string });
    res.end('ok');
  });
  await new Promise<void>((r) => rs.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(rs.address() as AddressInfo).port}/orders?x=1`;
  try {
    const res = await client.fetch(url, { method: 'post', body: 'a=1' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    const [{ authorization, dpop }] = seen as [{ authorization: string; dpop: string }];
    assert.equal(authorization, `DPoP ${token.accessToken}`);
    const { EmbeddedJWK } = await import('jose');
    const proof = await jwtVerify(dpop, EmbeddedJWK, { typ: 'dpop+jwt' });
    assert.equal(proof.payload.htm, 'POST');
    assert.equal(proof.payload.htu, url.replace('?x=1', ''));
    const { createHash } = await import('node:crypto');
    assert.equal(proof.payload.ath, createHash('sha256').update(token.accessToken).digest('base64url'));
    assert.equal(await calculateJwkThumbprint(proof.protectedHeader.jwk!), signer.jkt);
  } finally {
    rs.close();
  }
});

test('DPoP: a caller-supplied key is used, and use_dpop_nonce is handled at the token endpoint', async () => {
  const nonceOp = await startOidcProvider({ requireDpopNonce: true });
  try {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const signer = await DPoPSigner.fromKey({ privateKey, publicKey });
    const events: TokenClientEvent[] = [];
    const client = new TokenClient({
      issuer: nonceOp.issuer,
      auth: { method: 'client_secret_post', clientId: nonceOp.clients.post.id, clientSecret: nonceOp.clients.post.secret },
      dpop: signer,
      onEvent: (e) => events.push(e),
    });
    await client.metadata();
    const before = nonceOp.tokenRequests();
    const token = await client.getToken({ scope: 'read' });
    assert.equal(token.tokenType, 'DPoP');
    assert.deepEqual(decodeJwt(token.accessToken).cnf, { jkt: signer.jkt });
    assert.equal(nonceOp.tokenRequests() - before, 2, 'first attempt without nonce, second with it');
    assert.equal(events.filter((e) => e.type === 'dpop_nonce').length, 1);
    assert.equal(events.filter((e) => e.type === 'retry').length, 0, 'a nonce round-trip is not a backoff retry');
  } finally {
    await nonceOp.close();
  }
});
