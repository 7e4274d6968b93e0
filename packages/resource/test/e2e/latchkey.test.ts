/**
 * @latchkey/resource against a real Latchkey server (packages/server test harness).
 * Features the server has not shipped yet are detected from its metadata and skipped with a reason.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createResourceServer, type ResourceServer } from '../../src/index.js';
import { basic, postForm, startTestServer, type TestServer } from '../../../server/test/helpers/harness.js';

const API = 'https://orders.api.test';

describe('against a real Latchkey server', () => {
  let srv: TestServer;
  let metadata: Record<string, unknown>;
  let client: { client_id: string; client_secret?: string };
  let rs: ResourceServer;

  const token = async (c: { client_id: string; client_secret?: string }, extra: Record<string, string> = {}, headers: Record<string, string> = {}) => {
    const res = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', ...extra }, { authorization: basic(c.client_id, c.client_secret!), ...headers });
    assert.equal(res.status, 200, res.text);
    return res.json as { access_token: string; token_type: string; scope: string };
  };

  before(async () => {
    srv = await startTestServer({ store: 'sqlite' });
    metadata = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    client = await srv.createClient({ client_name: 'orders-caller', scope: 'read:orders write:orders', audience: [API] });
    rs = createResourceServer({ issuer: srv.issuer, audience: API });
  });
  after(() => srv.close());

  it('verifies Latchkey JWT access tokens found through discovery', async () => {
    const t = await token(client, { scope: 'read:orders' });
    const auth = await rs.verify(t.access_token);
    assert.equal(auth.clientId, client.client_id);
    assert.equal(auth.subject, client.client_id);
    assert.deepEqual([...auth.scopes], ['read:orders']);
    assert.equal(auth.claims.iss, srv.issuer);
    const out = await rs.authenticate({ method: 'GET', url: `${API}/orders`, headers: { authorization: `Bearer ${t.access_token}` } }, 'write:orders');
    assert.equal(!out.ok && out.response.status, 403);
  });

  it('rejects Latchkey tokens meant for another API, and tampered ones', async () => {
    const other = await srv.createClient({ client_name: 'other', scope: 'read:orders', audience: ['https://billing.api.test'] });
    await assert.rejects(rs.verify((await token(other)).access_token), { code: 'ERR_JWT_AUDIENCE_INVALID' });
    const t = (await token(client)).access_token;
    const [h, p, s] = t.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
    await assert.rejects(rs.verify(forged), { code: 'ERR_JWS_SIGNATURE_INVALID' });
    // The server's own admin tokens (aud = issuer) are not for this API.
    const admin = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'latchkey:admin' }, { authorization: basic(srv.admin.client_id, srv.admin.client_secret) });
    await assert.rejects(rs.verify(admin.json.access_token), { code: 'ERR_JWT_AUDIENCE_INVALID' });
  });

  it('forgeries built from a real Latchkey token and its JWKS get the right RFC 6750 answer', async () => {
    const real = (await token(client, { scope: 'read:orders' })).access_token;
    const [h, p] = real.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwks = (await (await fetch(`${srv.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    const published = jwks.keys.find((k) => k.kid === header.kid)!;
    const hmac = (alg: string, secret: Buffer) => {
      const input = `${enc({ ...header, alg })}.${p}`;
      return `${input}.${createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url')}`;
    };
    const forgeries: Record<string, [string, string]> = {
      'alg none': [`${enc({ ...header, alg: 'none' })}.${p}.`, 'ERR_TOKEN_UNSUPPORTED'],
      'alg none with a dummy signature': [`${enc({ ...header, alg: 'none' })}.${p}.AAAA`, 'ERR_JWT_ALG_NOT_ALLOWED'],
      'HS256 keyed with the published JWK': [hmac('HS256', Buffer.from(JSON.stringify(published))), 'ERR_JWT_ALG_NOT_ALLOWED'],
      'HS256 keyed with the public x coordinate': [hmac('HS256', Buffer.from(String(published.x ?? published.n), 'base64url')), 'ERR_JWT_ALG_NOT_ALLOWED'],
      'typ changed to JWT': [`${enc({ ...header, typ: 'JWT' })}.${real.split('.').slice(1).join('.')}`, 'ERR_JWT_TYP_INVALID'],
      'unknown kid': [`${enc({ ...header, kid: 'no-such-key' })}.${real.split('.').slice(1).join('.')}`, 'ERR_JWKS_NO_MATCHING_KEY'],
      'payload: scope widened': [`${h}.${enc({ ...claims, scope: 'read:orders write:orders' })}.${real.split('.')[2]}`, 'ERR_JWS_SIGNATURE_INVALID'],
      'payload: aud swapped': [`${h}.${enc({ ...claims, aud: 'https://billing.api.test' })}.${real.split('.')[2]}`, 'ERR_JWS_SIGNATURE_INVALID'],
      'payload: exp extended': [`${h}.${enc({ ...claims, exp: claims.exp + 86400 })}.${real.split('.')[2]}`, 'ERR_JWS_SIGNATURE_INVALID'],
    };
    for (const [name, [forged, code]] of Object.entries(forgeries)) {
      const out = await rs.authenticate({ method: 'GET', url: `${API}/orders`, headers: { authorization: `Bearer ${forged}` } });
      assert.equal(out.ok, false, name);
      if (out.ok) continue;
      assert.equal(out.error.code, code, name);
      assert.equal(out.response.status, 401, name);
      assert.match(String([out.response.headers['www-authenticate']].flat()[0]), /^Bearer error="invalid_token", error_description="The access token is invalid"$/, name);
    }
    // The genuine token, checked against other clocks: expired, and not yet valid.
    const later = createResourceServer({ issuer: srv.issuer, audience: API, clock: () => (claims.exp + 60) * 1000 });
    await assert.rejects(later.verify(real), { code: 'ERR_JWT_EXPIRED', error: 'invalid_token' });
    const earlier = createResourceServer({ issuer: srv.issuer, audience: API, clock: () => (claims.iat - 600) * 1000 });
    await assert.rejects(earlier.verify(real), { code: 'ERR_JWT_NOT_YET_VALID', error: 'invalid_token' });
    // Wrong issuer: a resource server expecting another issuer at the same place refuses the metadata and the token.
    const otherIssuer = createResourceServer({ issuer: `${srv.issuer}/other`, audience: API, discovery: false, jwksUri: `${srv.url}/.well-known/jwks.json` });
    await assert.rejects(otherIssuer.verify(real), { code: 'ERR_JWT_ISSUER_INVALID' });
    assert.equal((await rs.verify(real)).clientId, client.client_id);
  });

  it('opaque tokens through the real introspection endpoint, authenticating via @latchkey/client', async (t) => {
    if (typeof metadata.introspection_endpoint !== 'string') return t.skip('server does not advertise introspection_endpoint yet');
    const opaqueClient = await srv.createClient({ client_name: 'opaque', scope: 'read:orders', audience: [API], access_token_format: 'opaque' });
    const rsClient = await srv.createClient({ client_name: 'orders-api', scope: 'latchkey:introspect' });
    const introspecting = createResourceServer({
      issuer: srv.issuer,
      audience: API,
      introspection: { clientAuthentication: { method: 'client_secret_basic', clientId: rsClient.client_id, clientSecret: rsClient.client_secret! } },
    });
    const at = (await token(opaqueClient)).access_token;
    assert.equal(at.split('.').length === 3, false, 'an opaque token');
    const auth = await introspecting.verify(at);
    assert.equal(auth.format, 'opaque');
    assert.equal(auth.clientId, opaqueClient.client_id);
    assert.ok(auth.scopes.has('read:orders'));
    await assert.rejects(introspecting.verify(`${at.slice(0, -4)}AAAA`), { code: 'ERR_TOKEN_INACTIVE' });

    // Revocation (RFC 7009) is visible once the short introspection cache lapses.
    if (typeof metadata.revocation_endpoint === 'string') {
      const noCache = createResourceServer({
        issuer: srv.issuer,
        audience: API,
        introspection: { clientAuthentication: { method: 'client_secret_basic', clientId: rsClient.client_id, clientSecret: rsClient.client_secret! }, cacheTtl: 0 },
      });
      const at2 = (await token(opaqueClient)).access_token;
      await noCache.verify(at2);
      const rev = await postForm(metadata.revocation_endpoint, { token: at2 }, { authorization: basic(opaqueClient.client_id, opaqueClient.client_secret!) });
      assert.equal(rev.status, 200);
      await assert.rejects(noCache.verify(at2), { code: 'ERR_TOKEN_INACTIVE' });
    }
  });

  it('checkJwts: a revoked Latchkey JWT is refused once the issuer says so', async (t) => {
    if (typeof metadata.revocation_endpoint !== 'string' || typeof metadata.introspection_endpoint !== 'string') {
      return t.skip('server does not advertise revocation and introspection yet');
    }
    const rsClient = await srv.createClient({ client_name: 'orders-api-revocation', scope: 'latchkey:introspect' });
    const strict = createResourceServer({
      issuer: srv.issuer,
      audience: API,
      introspection: { clientAuthentication: { method: 'client_secret_basic', clientId: rsClient.client_id, clientSecret: rsClient.client_secret! }, checkJwts: true, cacheTtl: 0 },
    });
    const at = (await token(client)).access_token;
    assert.equal((await strict.verify(at)).format, 'jwt');
    await rs.verify(at); // the plain resource server accepts it too
    const rev = await postForm(metadata.revocation_endpoint, { token: at }, { authorization: basic(client.client_id, client.client_secret!) });
    assert.equal(rev.status, 200);
    await assert.rejects(strict.verify(at), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal((await rs.verify(at)).format, 'jwt', 'without checkJwts a revoked JWT stays valid until exp (documented)');
  });

  it('private_key_jwt introspection client', async (t) => {
    const methods = metadata.introspection_endpoint_auth_methods_supported ?? metadata.token_endpoint_auth_methods_supported;
    if (typeof metadata.introspection_endpoint !== 'string' || !Array.isArray(methods) || !methods.includes('private_key_jwt')) {
      return t.skip('server does not offer private_key_jwt for introspection yet');
    }
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const rsClient = await srv.createClient({
      client_name: 'orders-api-pkjwt',
      scope: 'latchkey:introspect',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
    });
    const opaqueClient = await srv.createClient({ client_name: 'opaque2', scope: 'read:orders', audience: [API], access_token_format: 'opaque' });
    const introspecting = createResourceServer({
      issuer: srv.issuer,
      audience: API,
      introspection: { clientAuthentication: { method: 'private_key_jwt', clientId: rsClient.client_id, privateKey, kid, alg: 'ES256' } },
    });
    const auth = await introspecting.verify((await token(opaqueClient)).access_token);
    assert.equal(auth.clientId, opaqueClient.client_id);
  });

  it('DPoP-bound tokens from the real token endpoint', async (t) => {
    if (!Array.isArray(metadata.dpop_signing_alg_values_supported)) return t.skip('server does not advertise DPoP yet');
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const proof = (htm: string, htu: string, accessToken?: string) =>
      new SignJWT({ jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey);
    const res = await token(client, {}, { dpop: await proof('POST', `${srv.url}/oauth2/token`) });
    assert.equal(res.token_type, 'DPoP');
    const at = res.access_token;
    const out = await rs.authenticate({ method: 'GET', url: `${API}/orders`, headers: { authorization: `DPoP ${at}`, dpop: await proof('GET', `${API}/orders`, at) } });
    assert.equal(out.ok, true, out.ok ? '' : out.error.detail);
    assert.deepEqual(out.ok && out.auth.binding, { type: 'dpop', jkt: await calculateJwkThumbprint(jwk) });
    const asBearer = await rs.authenticate({ method: 'GET', url: `${API}/orders`, headers: { authorization: `Bearer ${at}` } });
    assert.equal(!asBearer.ok && asBearer.error.code, 'ERR_TOKEN_SENDER_CONSTRAINED');
  });

  // Last: it switches the server's signing key, which the shared resource server above would then have to learn.
  it('key rotation with pre-publication: no valid request fails while keys change', async () => {
    const rotating = createResourceServer({ issuer: srv.issuer, audience: API, jwks: { maxAge: 1, cooldown: 1 } });
    const admin = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'latchkey:admin' }, { authorization: basic(srv.admin.client_id, srv.admin.client_secret) });
    const kids = new Set<string>();
    const failures: string[] = [];
    let verified = 0;
    const rotate = async () => {
      const res = await fetch(`${srv.url}/admin/v1/keys/rotate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.json.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prepublish_seconds: 2 }),
      });
      assert.equal(res.status, 201, await res.text());
    };
    const deadline = Date.now() + 6_500;
    let rotations = 0;
    const rotator = (async () => {
      while (Date.now() < deadline - 2_500) {
        await rotate();
        rotations++;
        await new Promise((r) => setTimeout(r, 1_500));
      }
    })();
    while (Date.now() < deadline) {
      const t = (await token(client)).access_token;
      kids.add(JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid);
      try {
        await rotating.verify(t);
        verified++;
      } catch (e) {
        failures.push(`${(e as { code?: string }).code}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await rotator;
    assert.deepEqual(failures, []);
    assert.ok(rotations >= 2, `rotations: ${rotations}`);
    assert.ok(kids.size >= 2, `tokens were signed by ${kids.size} key(s)`);
    assert.ok(verified > 20);
  });
});
