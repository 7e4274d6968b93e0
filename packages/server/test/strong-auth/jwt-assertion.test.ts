import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT, exportSPKI } from 'jose';
import * as oidc from 'openid-client';
import { postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { OAuthError } from '../../src/shared/errors.js';
import { ClientService } from '../../src/management/clients.service.js';
import { secretAad } from '../../src/client-auth/secret-hash.js';
import { parseForm, type OAuthRequest } from '../../src/shared/oauth-request.js';
import { ASSERTION_TYPE, INVALID_CLIENT, assertion, b64url, keyPair, now, type KeyPair } from './helpers.js';

const cc = { grant_type: 'client_credentials' };
const INVALID_REQUEST = 'invalid_request';
/** Negative tests fail authentication many times from one address: keep the brute-force limiter out of the way. */
// outboundAllow: the fake jwks_uri servers listen on loopback, which the outbound policy (SPEC §8) refuses by default.
const NO_LIMIT = { rateLimitFailures: 1_000_000, outboundAllow: ['127.0.0.1'] };

describe('private_key_jwt and client_secret_jwt (RFC 7523 §2.2, draft-ietf-oauth-rfc7523bis)', () => {
  let srv: TestServer;
  let token: string;
  let kp: KeyPair;
  let pk: { client_id: string };
  let cs: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer({ config: NO_LIMIT });
    token = `${srv.url}/oauth2/token`;
    kp = await keyPair('ES256');
    pk = await srv.createClient({ client_name: 'pk', scope: 'a b', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [kp.publicJwk] } });
    cs = (await srv.createClient({ client_name: 'cs', scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' })) as { client_id: string; client_secret: string };
  });
  after(() => srv.close());

  const send = (a: string, extra: Record<string, string> = {}) => postForm(token, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: a, ...extra });
  const pkAssertion = (opts: Parameters<typeof assertion>[3] = {}, aud: unknown = srv.issuer) =>
    assertion(kp.privateKey, pk.client_id, aud, { ...opts, header: { kid: kp.kid, ...(opts.header ?? {}) } });
  const secretKey = () => new TextEncoder().encode(cs.client_secret);
  const csAssertion = (opts: Parameters<typeof assertion>[3] = {}, aud: unknown = srv.issuer) =>
    assertion(secretKey(), cs.client_id, aud, { ...opts, header: { alg: 'HS256', ...(opts.header ?? {}) } });

  async function rejected(a: string | Promise<string>, why: string) {
    const r = await send(await a);
    assert.equal(r.status, 401, `${why}: ${r.text}`);
    assert.deepEqual(r.json, INVALID_CLIENT, why);
  }

  it('private_key_jwt: 200 with the issuer as aud (string), full token response', async () => {
    const r = await send(await pkAssertion());
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'a b');
    const c = decodeJwt(r.json.access_token);
    assert.equal(c.sub, pk.client_id);
    assert.equal(c.client_id, pk.client_id);
    assert.equal(c.cnf, undefined, 'no DPoP, no certificate → unbound');
  });

  it('the same assertion rules authenticate at the introspection endpoint (issuer aud; replay refused)', async () => {
    const t = await send(await pkAssertion());
    assert.equal(t.status, 200);
    const a = await pkAssertion();
    const body = { token: t.json.access_token, client_assertion_type: ASSERTION_TYPE, client_assertion: a };
    const i = await postForm(`${srv.url}/oauth2/introspect`, body);
    assert.equal(i.status, 200, i.text);
    assert.equal(i.json.active, true);
    assert.equal(i.json.client_id, pk.client_id);
    const replay = await postForm(`${srv.url}/oauth2/introspect`, body);
    assert.equal(replay.status, 401);
    const wrongAud = await postForm(`${srv.url}/oauth2/introspect`, { ...body, client_assertion: await pkAssertion({}, `${srv.issuer}/oauth2/introspect`) });
    assert.equal(wrongAud.status, 401);
  });

  it('aud as an array holding exactly the issuer is accepted', async () => {
    assert.equal((await send(await pkAssertion({}, [srv.issuer]))).status, 200);
  });

  it('an hour-long assertion (common client default) is accepted; typ JWT and client-authentication+jwt too', async () => {
    const t = now();
    assert.equal((await send(await pkAssertion({ claims: { iat: t, exp: t + 3600 } }))).status, 200);
    assert.equal((await send(await pkAssertion({ header: { typ: 'JWT' } }))).status, 200);
    assert.equal((await send(await pkAssertion({ header: { typ: 'client-authentication+jwt' } }))).status, 200);
    assert.equal((await send(await pkAssertion({ header: { kid: undefined } }))).status, 200, 'no kid: every fitting key is tried');
  });

  it('client_id in the body naming the same client is fine; another id → 400 invalid_request', async () => {
    assert.equal((await send(await pkAssertion(), { client_id: pk.client_id })).status, 200);
    const r = await send(await pkAssertion(), { client_id: cs.client_id });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, INVALID_REQUEST);
  });

  it('replayed jti → 401 invalid_client', async () => {
    const a = await pkAssertion();
    assert.equal((await send(a)).status, 200);
    await rejected(a, 'replay');
    // The same jti in a fresh assertion is a replay too.
    const jti = randomUUID();
    assert.equal((await send(await pkAssertion({ claims: { jti } }))).status, 200);
    await rejected(pkAssertion({ claims: { jti } }), 'same jti, new signature');
  });

  it('wrong aud → 401: token endpoint URL (legacy off), other URL, issuer plus another value, trailing slash, missing', async () => {
    await rejected(pkAssertion({}, `${srv.issuer}/oauth2/token`), 'token endpoint aud (legacy setting off)');
    await rejected(pkAssertion({}, 'https://evil.example'), 'foreign aud');
    await rejected(pkAssertion({}, [srv.issuer, 'https://evil.example']), 'audience injection: issuer plus another');
    await rejected(pkAssertion({}, [srv.issuer, srv.issuer]), 'two values, even equal');
    await rejected(pkAssertion({}, `${srv.issuer}/`), 'not the exact issuer string');
    await rejected(pkAssertion({ claims: { aud: undefined } }), 'no aud');
    await rejected(pkAssertion({}, []), 'empty array');
  });

  it('time checks → 401: expired, no exp, exp beyond the maximum lifetime, iat/nbf in the future', async () => {
    const t = now();
    await rejected(pkAssertion({ claims: { exp: t - 120 } }), 'expired beyond the skew');
    await rejected(pkAssertion({ claims: { exp: undefined } }), 'no exp');
    await rejected(pkAssertion({ claims: { iat: t, exp: t + 7200 } }), 'exp two hours ahead');
    await rejected(pkAssertion({ claims: { iat: undefined, exp: t + 3600 + 120 } }), 'exp too far without iat');
    await rejected(pkAssertion({ claims: { iat: t - 4000, exp: t + 60 } }), 'exp - iat longer than the maximum');
    await rejected(pkAssertion({ claims: { iat: t + 600, exp: t + 900 } }), 'iat in the future');
    await rejected(pkAssertion({ claims: { nbf: t + 600, exp: t + 900 } }), 'nbf in the future');
    await rejected(pkAssertion({ claims: { exp: 'soon' } }), 'exp not a number');
  });

  it('identity checks → 401: iss ≠ sub, sub of another client, no jti, unknown client', async () => {
    await rejected(pkAssertion({ claims: { iss: 'someone-else' } }), 'iss differs');
    await rejected(pkAssertion({ claims: { iss: cs.client_id, sub: cs.client_id } }), 'signed by pk for cs');
    await rejected(pkAssertion({ claims: { jti: undefined } }), 'no jti');
    await rejected(pkAssertion({ claims: { jti: 'x'.repeat(300) } }), 'jti too long');
    await rejected(assertion(kp.privateKey, 'no-such-client', srv.issuer), 'unknown client');
    const off = await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [kp.publicJwk] }, disabled: true });
    await rejected(assertion(kp.privateKey, off.client_id, srv.issuer, { header: { kid: kp.kid } }), 'disabled client');
  });

  it('registered keys marked for encryption, for other operations or another alg are never used for verification', async () => {
    for (const restriction of [{ use: 'enc' }, { key_ops: ['encrypt'] }]) {
      const k = await keyPair('ES256');
      const c = await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...k.publicJwk, ...restriction }] } });
      await rejected(assertion(k.privateKey, c.client_id, srv.issuer, { header: { kid: k.kid } }), JSON.stringify(restriction));
    }
    // A registered key's alg must fit the key (JOSE core's validatePublicJwk): refused at registration already.
    const misfit = await keyPair('ES256');
    await assert.rejects(
      srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...misfit.publicJwk, alg: 'ES384' }] } }),
      /jwks\.keys\.0: alg ES384 does not fit/,
    );
    const k = await keyPair('ES256');
    const c = await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...k.publicJwk, alg: 'ES256', key_ops: ['verify'] }] } });
    assert.equal((await send(await assertion(k.privateKey, c.client_id, srv.issuer, { header: { kid: k.kid } }))).status, 200, 'matching alg and key_ops');
  });

  it('algorithm checks → 401: alg none, HS256 keyed with the public key, another key under the same kid, typ of another JWT kind', async () => {
    const t = now();
    const claims = { iss: pk.client_id, sub: pk.client_id, aud: srv.issuer, iat: t, exp: t + 60, jti: randomUUID() };
    await rejected(Promise.resolve(`${b64url({ alg: 'none' })}.${b64url(claims)}.`), 'alg none');
    await rejected(Promise.resolve(`${b64url({ alg: 'none', kid: kp.kid })}.${b64url({ ...claims, jti: randomUUID() })}.sig`), 'alg none with a signature part');
    // The classic key-confusion attack: HMAC with the public key (as PEM and as JWK JSON) as the secret.
    const pem = await exportSPKI(kp.publicKey);
    for (const secret of [pem, JSON.stringify(kp.publicJwk)]) {
      const forged = await new SignJWT({ ...claims, jti: randomUUID() }).setProtectedHeader({ alg: 'HS256', kid: kp.kid }).sign(new TextEncoder().encode(secret));
      await rejected(Promise.resolve(forged), 'HS256 with the public key');
    }
    const other = await keyPair('ES256', kp.kid);
    await rejected(assertion(other.privateKey, pk.client_id, srv.issuer, { header: { kid: kp.kid } }), 'right kid, wrong key');
    const rsa = await keyPair('RS256');
    await rejected(assertion(rsa.privateKey, pk.client_id, srv.issuer, { header: { alg: 'RS256', kid: kp.kid } }), 'alg that does not fit the registered key');
    await rejected(pkAssertion({ header: { typ: 'at+jwt' } }), 'an access token is not a client assertion');
    await rejected(pkAssertion({ header: { typ: 'dpop+jwt' } }), 'a DPoP proof is not a client assertion');
    // A critical header extension this server does not understand (RFC 7515 §4.1.11), signed by hand since jose refuses to.
    const input = `${b64url({ alg: 'ES256', kid: kp.kid, crit: ['x-latchkey-test'], 'x-latchkey-test': 1 })}.${b64url({ ...claims, jti: randomUUID() })}`;
    const sig = Buffer.from(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, kp.privateKey, new TextEncoder().encode(input))).toString('base64url');
    await rejected(Promise.resolve(`${input}.${sig}`), 'unknown crit header');
  });

  it('malformed assertions → 401, never 5xx', async () => {
    for (const junk of ['abc', 'a.b.c', 'a.b.c.d.e', '....', `${b64url({ alg: 'ES256' })}.${b64url('x')}.`, `${b64url([1])}.${b64url({ sub: 1 })}.x`, 'x'.repeat(9000)]) {
      const r = await send(junk);
      assert.equal(r.status, 401, junk.slice(0, 40));
      assert.deepEqual(r.json, INVALID_CLIENT);
    }
  });

  it('client_assertion_type: missing, wrong, or assertion missing → 400 invalid_request; plus another method → 400', async () => {
    const a = await pkAssertion();
    let r = await postForm(token, { ...cc, client_assertion: a });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, INVALID_REQUEST);
    r = await postForm(token, { ...cc, client_assertion: a, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, INVALID_REQUEST);
    r = await postForm(token, { ...cc, client_assertion_type: ASSERTION_TYPE });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, INVALID_REQUEST);
    r = await postForm(token, { ...cc, client_assertion: a, client_assertion_type: ASSERTION_TYPE, client_id: cs.client_id, client_secret: cs.client_secret });
    assert.equal(r.status, 400, 'two methods in one request (RFC 6749 §2.3)');
    assert.equal(r.json.error, INVALID_REQUEST);
  });

  it('client_secret_jwt: HS256 with the client secret → 200; wrong secret, HS512 (key shorter than the hash, RFC 7518 §3.2), RS256, or registered method mismatch → 401', async () => {
    const ok = await send(await csAssertion());
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.scope, 'a');
    await rejected(assertion(new TextEncoder().encode('lk_' + 'A'.repeat(43)), cs.client_id, srv.issuer, { header: { alg: 'HS256' } }), 'wrong secret');
    await rejected(csAssertion({ header: { alg: 'HS512' } }), 'HS512 with a 43-octet secret');
    const rsa = await keyPair('RS256');
    await rejected(assertion(rsa.privateKey, cs.client_id, srv.issuer, { header: { alg: 'RS256' } }), 'asymmetric alg for a secret client');
    // A private_key_jwt client cannot switch to an HMAC assertion, and a secret client cannot use Basic.
    await rejected(assertion(secretKey(), pk.client_id, srv.issuer, { header: { alg: 'HS256' } }), 'HMAC for a private_key_jwt client');
    const basic = await postForm(token, cc, { authorization: 'Basic ' + Buffer.from(`${cs.client_id}:${cs.client_secret}`).toString('base64') });
    assert.equal(basic.status, 401, 'registered for client_secret_jwt, not client_secret_basic');
    await rejected(csAssertion({}, `${srv.issuer}/oauth2/token`), 'aud rule applies to client_secret_jwt too');
  });

  it('each rejection fails at the check it is meant to exercise (private detail, never sent to the client)', async () => {
    const reason = async (jwt: string) => {
      const rawBody = new URLSearchParams({ ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }).toString();
      const req: OAuthRequest = { method: 'POST', url: `${srv.issuer}/oauth2/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody, remoteAddress: '127.0.0.1' };
      try {
        await srv.running.composed.authentication.authenticate(req, parseForm(req));
        return 'accepted';
      } catch (e) {
        assert.ok(e instanceof OAuthError && e.error === 'invalid_client', String(e));
        assert.equal(e.description, 'client authentication failed');
        return e.detail ?? '';
      }
    };
    const t = now();
    const claims = { iss: pk.client_id, sub: pk.client_id, aud: srv.issuer, iat: t, exp: t + 60, jti: randomUUID() };
    const pem = await exportSPKI(kp.publicKey);
    const replayed = await pkAssertion();
    assert.equal(await reason(replayed), 'accepted');
    const cases: [string, Promise<string> | string, RegExp][] = [
      ['replay', replayed, /jti replayed/],
      ['alg none', `${b64url({ alg: 'none' })}.${b64url(claims)}.`, /alg none not allowed/],
      ['HS256 with the public key', new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: kp.kid }).sign(new TextEncoder().encode(pem)), /alg HS256 not allowed for private_key_jwt/],
      ['audience injection', pkAssertion({}, [srv.issuer, 'https://evil.example']), /aud is not the issuer/],
      ['token endpoint aud', pkAssertion({}, `${srv.issuer}/oauth2/token`), /aud is not the issuer/],
      ['expired', pkAssertion({ claims: { exp: t - 120 } }), /ERR_JWT_EXPIRED/],
      ['no exp', pkAssertion({ claims: { exp: undefined } }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*exp/],
      ['lifetime', pkAssertion({ claims: { exp: t + 7200 } }), /exp too far|lifetime/],
      ['iat future', pkAssertion({ claims: { iat: t + 600, exp: t + 900 } }), /iat in the future|ERR_JWT_CLAIM_VALIDATION_FAILED/],
      ['iss ≠ sub', pkAssertion({ claims: { iss: 'x' } }), /iss and sub/],
      ['typ', pkAssertion({ header: { typ: 'at+jwt' } }), /typ at\+jwt refused/],
      ['wrong key', keyPair('ES256', kp.kid).then((o) => assertion(o.privateKey, pk.client_id, srv.issuer, { header: { kid: kp.kid } })), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
      ['HS512 too short', csAssertion({ header: { alg: 'HS512' } }), /too short for HS512/],
    ];
    for (const [name, jwt, want] of cases) assert.match(await reason(await jwt), want, name);
  });

  it('client_secret_jwt honours secret expiry and rotation: an expired secret → 401; during a rotation grace old and new both sign', async () => {
    const svc = new ClientService(srv.services);
    const sign = (c: { client_id: string; client_secret: string }, secret = c.client_secret) =>
      assertion(new TextEncoder().encode(secret), c.client_id, srv.issuer, { header: { alg: 'HS256' } });
    const expiring = (await svc.create({ scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' }, 'test')) as { client_id: string; client_secret: string };
    await srv.sync();
    assert.equal((await send(await sign(expiring))).status, 200, 'valid while not expired');
    // Expire it through the store (deterministic, no sleeping): a newest secret whose expiry has passed.
    const now = Date.now();
    const expired = { id: 'expired-1', client_id: expiring.client_id, hash: srv.services.hasher.hash(expiring.client_secret), created_at: now, expires_at: now - 1000 };
    await srv.services.store.rotateSecret(expiring.client_id, expired, now - 1000, srv.services.sealer.seal(expiring.client_secret, secretAad(expiring.client_id)));
    await srv.sync();
    await rejected(sign(expiring), 'secret expired');

    const rotating = (await svc.create({ scope: 'a', token_endpoint_auth_method: 'client_secret_jwt' }, 'test')) as { client_id: string; client_secret: string };
    const rotated = (await svc.rotateSecret(rotating.client_id, 'test', { graceSeconds: 600 })) as { client_secret: string };
    await srv.sync();
    assert.equal((await send(await sign(rotating, rotated.client_secret))).status, 200, 'new secret');
    assert.equal((await send(await sign(rotating))).status, 200, 'old secret inside the grace period (test/strong-auth/secret-jwt-rotation.test.ts covers the end)');
  });

  it('openid-client v6 PrivateKeyJwt and ClientSecretJwt get tokens (independent client)', async () => {
    const opts = { execute: [oidc.allowInsecureRequests] };
    const c1 = await oidc.discovery(new URL(srv.issuer), pk.client_id, undefined, oidc.PrivateKeyJwt({ key: kp.privateKey, kid: kp.kid }), opts);
    const t1 = await oidc.clientCredentialsGrant(c1, { scope: 'a' });
    assert.equal(t1.token_type.toLowerCase(), 'bearer');
    assert.equal(t1.scope, 'a');
    assert.equal(decodeJwt(t1.access_token).client_id, pk.client_id);
    const c2 = await oidc.discovery(new URL(srv.issuer), cs.client_id, undefined, oidc.ClientSecretJwt(cs.client_secret), opts);
    const t2 = await oidc.clientCredentialsGrant(c2);
    assert.equal(decodeJwt(t2.access_token).client_id, cs.client_id);
  });

  it('metadata advertises the methods and the exact assertion algorithms', async () => {
    const m = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as any;
    for (const meth of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']) assert.ok(m.token_endpoint_auth_methods_supported.includes(meth), meth);
    assert.ok(!m.token_endpoint_auth_methods_supported.includes('tls_client_auth'), 'no TLS listener → no mTLS methods');
    assert.ok(!m.token_endpoint_auth_methods_supported.includes('self_signed_tls_client_auth'));
    assert.equal(m.tls_client_certificate_bound_access_tokens, undefined);
    assert.deepEqual(m.token_endpoint_auth_signing_alg_values_supported, ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519', 'HS256']);
    assert.ok(!m.token_endpoint_auth_signing_alg_values_supported.includes('none'));
    // RFC 8414 §2: required wherever private_key_jwt/client_secret_jwt are advertised.
    for (const ep of ['introspection', 'revocation']) {
      if (m[`${ep}_endpoint_auth_methods_supported`]?.includes('private_key_jwt')) {
        assert.deepEqual(m[`${ep}_endpoint_auth_signing_alg_values_supported`], m.token_endpoint_auth_signing_alg_values_supported, ep);
      }
    }
  });
});

describe('legacy audience setting (allowTokenEndpointAudience)', () => {
  it('accepts the token endpoint URL as the sole aud, still never a list of several', async () => {
    const srv = await startTestServer({ config: { ...NO_LIMIT, allowTokenEndpointAudience: true } });
    try {
      const kp = await keyPair('ES256');
      const c = await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [kp.publicJwk] } });
      const send = async (aud: unknown) =>
        postForm(`${srv.url}/oauth2/token`, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(kp.privateKey, c.client_id, aud, { header: { kid: kp.kid } }) });
      assert.equal((await send(`${srv.issuer}/oauth2/token`)).status, 200);
      assert.equal((await send(srv.issuer)).status, 200);
      const r = await send([srv.issuer, `${srv.issuer}/oauth2/token`]);
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, INVALID_CLIENT);
      assert.equal((await send(`${srv.issuer}/oauth2/introspect`)).status, 401, 'only the token endpoint URL');
    } finally {
      await srv.close();
    }
  });
});

describe('client jwks_uri (fetch with timeout, size limit, cache, refresh on unknown kid, rate limit)', () => {
  let jwksServer: Server;
  let base: string;
  const docs = new Map<string, { body: string; status?: number; hang?: boolean; redirect?: string }>();
  const hits = new Map<string, number>();

  before(async () => {
    jwksServer = createServer((req, res) => {
      const path = req.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const d = docs.get(path);
      if (!d) return res.writeHead(404).end();
      if (d.hang) return; // never answers: exercises the fetch timeout
      if (d.redirect) return res.writeHead(302, { location: d.redirect }).end();
      res.writeHead(d.status ?? 200, { 'content-type': 'application/json' }).end(d.body);
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const a = jwksServer.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  after(async () => {
    jwksServer.closeAllConnections();
    await new Promise((r) => jwksServer.close(r));
  });

  async function clientWithUri(srv: TestServer, path: string) {
    return srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: base + path });
  }
  const request = async (srv: TestServer, kp: KeyPair, clientId: string) =>
    postForm(`${srv.url}/oauth2/token`, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(kp.privateKey, clientId, srv.issuer, { header: { kid: kp.kid } }) });

  it('fetches, caches, and refetches on an unknown kid (key rotation) when the cool-down allows', async () => {
    const srv = await startTestServer({ config: { ...NO_LIMIT, jwksRefreshCooldown: 0 } });
    try {
      const k1 = await keyPair('ES256');
      const k2 = await keyPair('EdDSA');
      docs.set('/rotating', { body: JSON.stringify({ keys: [k1.publicJwk] }) });
      const c = await clientWithUri(srv, '/rotating');
      assert.equal((await request(srv, k1, c.client_id)).status, 200);
      assert.equal((await request(srv, k1, c.client_id)).status, 200);
      assert.equal(hits.get('/rotating'), 1, 'second request served from the cache');
      docs.set('/rotating', { body: JSON.stringify({ keys: [k1.publicJwk, k2.publicJwk] }) });
      const r = await postForm(`${srv.url}/oauth2/token`, {
        ...cc,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await assertion(k2.privateKey, c.client_id, srv.issuer, { header: { alg: 'EdDSA', kid: k2.kid } }),
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(hits.get('/rotating'), 2, 'unknown kid → one refetch');
    } finally {
      await srv.close();
    }
  });

  it('unknown kids are rate-limited: a flood of made-up kids costs one refetch per cool-down', async () => {
    const srv = await startTestServer({ config: { ...NO_LIMIT, jwksRefreshCooldown: 3600 } });
    try {
      const k1 = await keyPair('ES256');
      docs.set('/flood', { body: JSON.stringify({ keys: [k1.publicJwk] }) });
      const c = await clientWithUri(srv, '/flood');
      assert.equal((await request(srv, k1, c.client_id)).status, 200);
      for (let i = 0; i < 5; i++) {
        const bogus = await keyPair('ES256');
        const r = await request(srv, bogus, c.client_id);
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, INVALID_CLIENT);
      }
      assert.equal(hits.get('/flood'), 1, 'within the cool-down the JWKS is not fetched again');
      assert.equal((await request(srv, k1, c.client_id)).status, 200, 'the known key still works');
    } finally {
      await srv.close();
    }
  });

  it('oversized, slow, redirecting, failing, non-JSON, or private-key JWKS → 401 invalid_client, never 5xx', async () => {
    const srv = await startTestServer({ config: { ...NO_LIMIT, jwksMaxBytes: 2048, jwksFetchTimeout: 300, jwksRefreshCooldown: 0 } });
    try {
      const k = await keyPair('ES256');
      const { privateKey } = k;
      const full = await (await import('jose')).exportJWK(privateKey);
      docs.set('/big', { body: JSON.stringify({ keys: [k.publicJwk], pad: 'x'.repeat(5000) }) });
      docs.set('/slow', { body: '', hang: true });
      docs.set('/redirect', { body: '', redirect: `${base}/big` });
      docs.set('/500', { body: 'oops', status: 500 });
      docs.set('/notjson', { body: '<html>' });
      docs.set('/nokeys', { body: JSON.stringify({ foo: 1 }) });
      docs.set('/private', { body: JSON.stringify({ keys: [{ ...full, kid: k.kid }] }) });
      for (const path of ['/big', '/slow', '/redirect', '/500', '/notjson', '/nokeys', '/private', '/missing']) {
        const c = await clientWithUri(srv, path);
        const r = await request(srv, k, c.client_id);
        assert.equal(r.status, 401, `${path}: ${r.text}`);
        assert.deepEqual(r.json, INVALID_CLIENT, path);
      }
    } finally {
      await srv.close();
    }
  });
});
