import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { INVALID_DPOP, b64url, dpopProof, keyPair, now, type KeyPair } from './helpers.js';
import { dpopProofValidator } from '../../src/tokens/dpop.js';
import { OAuthError } from '../../src/shared/errors.js';

const cc = { grant_type: 'client_credentials' };
const NO_LIMIT = { rateLimitFailures: 1_000_000 };

describe('DPoP at the token endpoint (RFC 9449)', () => {
  let srv: TestServer;
  let token: string;
  let htu: string;
  let kp: KeyPair;
  let client: { client_id: string; client_secret: string };
  let bound: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer({ config: NO_LIMIT });
    token = `${srv.url}/oauth2/token`;
    htu = `${srv.issuer}/oauth2/token`;
    kp = await keyPair('ES256');
    client = (await srv.createClient({ scope: 'a', access_token_ttl: 300 })) as { client_id: string; client_secret: string };
    bound = (await srv.createClient({ scope: 'a', dpop_bound_access_tokens: true })) as { client_id: string; client_secret: string };
  });
  after(() => srv.close());

  const send = (proof: string | undefined, c = client) => postForm(token, cc, { authorization: basic(c.client_id, c.client_secret), ...(proof === undefined ? {} : { dpop: proof }) });

  async function badProof(proof: string | Promise<string>, why: string) {
    const r = await send(await proof);
    assert.equal(r.status, 400, `${why}: ${r.text}`);
    assert.deepEqual(r.json, INVALID_DPOP, why);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  }

  it('a valid proof → token_type DPoP and cnf.jkt = RFC 7638 thumbprint of the proof key', async () => {
    const r = await send(await dpopProof(kp, htu));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'DPoP');
    assert.equal(r.json.expires_in, 300);
    const c = decodeJwt(r.json.access_token);
    assert.deepEqual(c.cnf, { jkt: await calculateJwkThumbprint(kp.publicJwk, 'sha256') });
    assert.equal(r.headers.get('dpop-nonce'), null, 'nonces are off by default');
  });

  it('htu compared ignoring query and fragment, after normalisation; RSA, EdDSA and P-384 keys work', async () => {
    assert.equal((await send(await dpopProof(kp, `${htu}?x=1#frag`))).status, 200);
    assert.equal((await send(await dpopProof(kp, htu.replace('http://', 'HTTP://')))).status, 200, 'scheme case is not significant (RFC 3986 §6.2.2.1)');
    for (const alg of ['RS256', 'PS256', 'EdDSA', 'ES384']) {
      const k = await keyPair(alg);
      const r = await send(await dpopProof(k, htu, { alg }));
      assert.equal(r.status, 200, `${alg}: ${r.text}`);
      assert.equal((decodeJwt(r.json.access_token).cnf as { jkt: string }).jkt, await calculateJwkThumbprint(k.publicJwk, 'sha256'));
    }
  });

  it('openid-client v6 DPoP handle gets a DPoP-bound token (independent client)', async () => {
    const cfg = await oidc.discovery(new URL(srv.issuer), client.client_id, undefined, oidc.ClientSecretBasic(client.client_secret), { execute: [oidc.allowInsecureRequests] });
    const keys = await generateKeyPair('ES256');
    const dpop = oidc.getDPoPHandle(cfg, keys);
    const t = await oidc.clientCredentialsGrant(cfg, { scope: 'a' }, { DPoP: dpop });
    assert.equal(t.token_type.toLowerCase(), 'dpop');
    assert.equal((decodeJwt(t.access_token).cnf as { jkt: string }).jkt, await calculateJwkThumbprint(await exportJWK(keys.publicKey), 'sha256'));
  });

  it('reused proof → 400 invalid_dpop_proof', async () => {
    const p = await dpopProof(kp, htu);
    assert.equal((await send(p)).status, 200);
    await badProof(p, 'replayed proof');
  });

  it('wrong htu (other path, other host), wrong htm → 400', async () => {
    await badProof(dpopProof(kp, `${srv.issuer}/oauth2/introspect`), 'other endpoint');
    await badProof(dpopProof(kp, 'https://as.example.com/oauth2/token'), 'other host');
    await badProof(dpopProof(kp, 'not a url'), 'htu not a URI');
    await badProof(dpopProof(kp, htu, { claims: { htm: 'GET' } }), 'htm GET');
    await badProof(dpopProof(kp, htu, { claims: { htm: 'post' } }), 'htm is case-sensitive');
  });

  it('iat outside the window, missing claims → 400', async () => {
    await badProof(dpopProof(kp, htu, { claims: { iat: now() - 600 } }), 'too old');
    await badProof(dpopProof(kp, htu, { claims: { iat: now() + 600 } }), 'from the future');
    await badProof(dpopProof(kp, htu, { claims: { iat: undefined } }), 'no iat');
    await badProof(dpopProof(kp, htu, { claims: { jti: undefined } }), 'no jti');
    await badProof(dpopProof(kp, htu, { claims: { htu: undefined } }), 'no htu');
    await badProof(dpopProof(kp, htu, { claims: { htm: undefined } }), 'no htm');
    await badProof(dpopProof(kp, htu, { claims: { exp: now() - 600 } }), 'expired exp');
  });

  it('header checks → 400: typ, alg none, HMAC, private key in jwk, jwk of another key, no jwk, alg/key mismatch', async () => {
    await badProof(dpopProof(kp, htu, { header: { typ: 'JWT' } }), 'typ JWT');
    await badProof(dpopProof(kp, htu, { header: { typ: undefined } }), 'no typ');
    const claims = { jti: randomUUID(), htm: 'POST', htu, iat: now() };
    const { kid: _k, use: _u, ...jwk } = kp.publicJwk;
    await badProof(`${b64url({ alg: 'none', typ: 'dpop+jwt', jwk })}.${b64url(claims)}.`, 'alg none');
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } as never }).sign(new TextEncoder().encode('secret'));
    await badProof(hmac, 'symmetric alg');
    const priv = await exportJWK(kp.privateKey);
    await badProof(dpopProof(kp, htu, { header: { jwk: priv } }), 'jwk with private key material (d)');
    const other = await keyPair('ES256');
    await badProof(dpopProof(kp, htu, { signWith: other.privateKey }), 'signed by a key other than jwk');
    await badProof(dpopProof(kp, htu, { header: { jwk: undefined } }), 'no jwk');
    await badProof(dpopProof(kp, htu, { header: { jwk: 'abc' } }), 'jwk not an object');
    const rsa = await keyPair('RS256');
    await badProof(dpopProof(rsa, htu, { alg: 'ES256', signWith: kp.privateKey }), 'RSA jwk with ES256');
  });

  it('each rejected proof fails at the RFC 9449 §4.3 check it is meant to exercise (private detail)', async () => {
    const validate = dpopProofValidator(srv.services);
    const reason = async (proof: string) => {
      try {
        await validate({ method: 'POST', url: htu, headers: { dpop: proof }, rawBody: '', remoteAddress: '127.0.0.1' });
        return 'accepted';
      } catch (e) {
        assert.ok(e instanceof OAuthError && e.error === 'invalid_dpop_proof', String(e));
        return e.detail ?? '';
      }
    };
    const used = await dpopProof(kp, htu);
    assert.equal(await reason(used), 'accepted');
    const other = await keyPair('ES256');
    const cases: [string, Promise<string> | string, RegExp][] = [
      ['replay', used, /jti replayed/],
      ['htu', dpopProof(kp, `${srv.issuer}/oauth2/revoke`), /htu does not match/],
      ['htm', dpopProof(kp, htu, { claims: { htm: 'GET' } }), /htm does not match/],
      ['old', dpopProof(kp, htu, { claims: { iat: now() - 600 } }), /too old/],
      ['future', dpopProof(kp, htu, { claims: { iat: now() + 600 } }), /iat in the future/],
      ['private jwk', exportJWK(kp.privateKey).then((priv) => dpopProof(kp, htu, { header: { jwk: priv } })), /private key material/],
      ['typ', dpopProof(kp, htu, { header: { typ: 'JWT' } }), /not dpop\+jwt/],
      ['alg none', `${b64url({ alg: 'none', typ: 'dpop+jwt', jwk: {} })}.${b64url({})}.`, /alg none not allowed/],
      ['signature', dpopProof(kp, htu, { signWith: other.privateKey }), /SIGNATURE_VERIFICATION_FAILED/],
    ];
    for (const [name, proof, want] of cases) assert.match(await reason(await proof), want, name);
  });

  it('malformed or repeated DPoP headers → 400, never 5xx', async () => {
    for (const junk of ['abc', 'a.b.c', 'a.b.c.d.e', '', ' ', `${b64url({ typ: 'dpop+jwt', alg: 'ES256', jwk: {} })}.e30.AA`, 'x'.repeat(9000)]) {
      const r = await send(junk);
      assert.equal(r.status, 400, JSON.stringify(junk.slice(0, 30)));
      assert.ok(['invalid_dpop_proof', 'invalid_request'].includes(r.json.error), r.text);
    }
    // Two DPoP header fields (RFC 9449 §4.3 check 1): Node joins them with ", ".
    const h = new Headers({ 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.client_id, client.client_secret) });
    h.append('dpop', await dpopProof(kp, htu));
    h.append('dpop', await dpopProof(kp, htu));
    const r = await fetch(token, { method: 'POST', headers: h, body: 'grant_type=client_credentials' });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), INVALID_DPOP);
  });

  it('a client registered with dpop_bound_access_tokens must send a proof (400 invalid_request), and then gets a DPoP token', async () => {
    const r = await send(undefined, bound);
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    const ok = await send(await dpopProof(kp, htu), bound);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token_type, 'DPoP');
  });

  it('without a proof an ordinary client gets a Bearer token with no cnf', async () => {
    const r = await send(undefined);
    assert.equal(r.status, 200);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(decodeJwt(r.json.access_token).cnf, undefined);
  });

  it('introspection shows cnf.jkt and token_type DPoP, for opaque and JWT tokens (RFC 9449 §6.2)', async () => {
    const opaque = (await srv.createClient({ scope: 'a', access_token_format: 'opaque' })) as { client_id: string; client_secret: string };
    for (const c of [opaque, client]) {
      const r = await send(await dpopProof(kp, htu), c);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.token_type, 'DPoP');
      const i = await postForm(`${srv.url}/oauth2/introspect`, { token: r.json.access_token }, { authorization: basic(c.client_id, c.client_secret) });
      assert.equal(i.status, 200, i.text);
      assert.equal(i.json.active, true);
      assert.equal(i.json.token_type, 'DPoP');
      assert.deepEqual(i.json.cnf, { jkt: await calculateJwkThumbprint(kp.publicJwk, 'sha256') });
    }
  });

  it('metadata advertises dpop_signing_alg_values_supported (asymmetric only)', async () => {
    const m = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as any;
    assert.deepEqual(m.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519']);
  });
});

describe('DPoP server nonces (RFC 9449 §8)', () => {
  let srv: TestServer;
  let client: { client_id: string; client_secret: string };
  before(async () => {
    srv = await startTestServer({ config: { ...NO_LIMIT, dpopNonce: true } });
    client = (await srv.createClient({ scope: 'a' })) as { client_id: string; client_secret: string };
  });
  after(() => srv.close());

  it('no nonce → 400 use_dpop_nonce with DPoP-Nonce; the nonce then works; a made-up nonce does not', async () => {
    const kp = await keyPair('ES256');
    const htu = `${srv.issuer}/oauth2/token`;
    const auth = { authorization: basic(client.client_id, client.client_secret) };
    const first = await postForm(`${srv.url}/oauth2/token`, cc, { ...auth, dpop: await dpopProof(kp, htu) });
    assert.equal(first.status, 400);
    assert.equal(first.json.error, 'use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    assert.ok(nonce && /^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/.test(nonce), String(nonce));
    const ok = await postForm(`${srv.url}/oauth2/token`, cc, { ...auth, dpop: await dpopProof(kp, htu, { claims: { nonce } }) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.token_type, 'DPoP');
    assert.ok(ok.headers.get('dpop-nonce'));
    for (const bogus of [nonce.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), `${(parseInt(nonce.split('.')[0]!, 36) - 5).toString(36)}.${nonce.split('.')[1]}`, 'x']) {
      const bad = await postForm(`${srv.url}/oauth2/token`, cc, { ...auth, dpop: await dpopProof(kp, htu, { claims: { nonce: bogus } }) });
      assert.equal(bad.status, 400, bogus);
      assert.equal(bad.json.error, 'use_dpop_nonce');
    }
  });

  it('openid-client learns the nonce from the use_dpop_nonce challenge and gets a DPoP token', async () => {
    const cfg = await oidc.discovery(new URL(srv.issuer), client.client_id, undefined, oidc.ClientSecretBasic(client.client_secret), { execute: [oidc.allowInsecureRequests] });
    const dpop = oidc.getDPoPHandle(cfg, await generateKeyPair('ES256'));
    let t;
    try {
      t = await oidc.clientCredentialsGrant(cfg, {}, { DPoP: dpop });
    } catch (e) {
      // openid-client stores the nonce and leaves the retry to the caller (its documented pattern).
      assert.ok(oidc.ResponseBodyError && e instanceof oidc.ResponseBodyError && e.error === 'use_dpop_nonce', String(e));
      t = await oidc.clientCredentialsGrant(cfg, {}, { DPoP: dpop });
    }
    assert.equal(t.token_type.toLowerCase(), 'dpop');
  });
});
