import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { basic, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { IndependentClient, eventually } from './helpers.js';
import { opaqueTokenHash } from '../../src/tokens/mint.js';

const INACTIVE = { active: false };
const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';

type Creds = { client_id: string; client_secret: string };

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`introspection (RFC 7662) and revocation (RFC 7009) — ${store}`, async () => {
    const skip = store === 'postgres' && !(await pgAvailable());
    let srv: TestServer;
    let jwtClient: Creds;
    let opaqueClient: Creds;
    let stranger: Creds;
    let resourceServer: Creds;
    let introspector: Creds;
    let owner: IndependentClient;
    let opaqueOwner: IndependentClient;

    before(async () => {
      if (skip) return;
      srv = await startTestServer({ store });
      const mk = async (meta: Record<string, unknown>) => (await srv.createClient(meta)) as Creds;
      jwtClient = await mk({ client_name: 'orders', scope: 'orders:read orders:write', audience: [API, OTHER_API], access_token_ttl: 300 });
      opaqueClient = await mk({ client_name: 'billing', scope: 'billing:read', audience: [API], access_token_format: 'opaque', access_token_ttl: 300 });
      stranger = await mk({ client_name: 'stranger', scope: 'x', audience: ['https://stranger.example.com'] });
      // A resource server registered as a client: its audience entry names the API it protects.
      resourceServer = await mk({ client_name: 'orders-api', scope: '', audience: [OTHER_API], token_endpoint_auth_method: 'client_secret_post' });
      introspector = await mk({ client_name: 'gateway', scope: 'latchkey:introspect' });
      owner = await IndependentClient.discover(srv.issuer, jwtClient.client_id, jwtClient.client_secret);
      opaqueOwner = await IndependentClient.discover(srv.issuer, opaqueClient.client_id, opaqueClient.client_secret);
    });
    after(async () => {
      if (!skip) await srv.close();
    });

    const as = (c: Creds, method: 'basic' | 'post' = 'basic') => IndependentClient.discover(srv.issuer, c.client_id, c.client_secret, method);
    const introspectRaw = (body: Record<string, string> | string, headers: Record<string, string> = {}) => postForm(`${srv.url}/oauth2/introspect`, body, headers);
    const revokeRaw = (body: Record<string, string> | string, headers: Record<string, string> = {}) => postForm(`${srv.url}/oauth2/revoke`, body, headers);

    it('metadata advertises both endpoints and their auth methods (RFC 8414 §2)', { skip }, async () => {
      assert.equal(owner.as.introspection_endpoint, `${srv.issuer}/oauth2/introspect`);
      assert.equal(owner.as.revocation_endpoint, `${srv.issuer}/oauth2/revoke`);
      assert.deepEqual(owner.as.introspection_endpoint_auth_methods_supported, owner.as.token_endpoint_auth_methods_supported);
      assert.deepEqual(owner.as.revocation_endpoint_auth_methods_supported, owner.as.token_endpoint_auth_methods_supported);
    });

    it('a valid JWT introspects active with the full claim set, no-store', { skip }, async () => {
      const t = await owner.token({ scope: 'orders:read' });
      const claims = decodeJwt(t.access_token);
      const r = await introspectRaw({ token: t.access_token }, { authorization: basic(jwtClient.client_id, jwtClient.client_secret) });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('pragma'), 'no-cache');
      assert.deepEqual(r.json, {
        active: true,
        scope: 'orders:read',
        client_id: jwtClient.client_id,
        sub: jwtClient.client_id,
        aud: API,
        iss: srv.issuer,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        token_type: 'Bearer',
      });
      assert.equal((claims.exp as number) - (claims.iat as number), 300);
      // The same through the independent client.
      const viaLib = await owner.introspect(t.access_token);
      assert.equal(viaLib.active, true);
      assert.equal(viaLib.jti, claims.jti);
    });

    it('a valid opaque token introspects active; only its hash is stored', { skip }, async () => {
      const t = await opaqueOwner.token();
      assert.match(t.access_token, /^lko_[A-Za-z0-9_-]{43}$/);
      assert.equal(t.token_type, 'bearer');
      const rec = await srv.services.store.getOpaqueToken(opaqueTokenHash(t.access_token));
      assert.ok(rec);
      assert.ok(!JSON.stringify(rec).includes(t.access_token.slice(4)), 'the token itself is not stored');
      const r = await opaqueOwner.introspect(t.access_token);
      assert.deepEqual({ ...r }, {
        active: true,
        scope: 'billing:read',
        client_id: opaqueClient.client_id,
        sub: opaqueClient.client_id,
        aud: API,
        iss: srv.issuer,
        exp: rec.exp,
        iat: rec.iat,
        jti: rec.jti,
        token_type: 'Bearer',
      });
      assert.equal(rec.exp - rec.iat, 300);
    });

    it('who may introspect what (RFC 7662 §4, SPEC §3): owner and latchkey:introspect — others get active:false', { skip }, async () => {
      const t = (await owner.token({ resource: OTHER_API })).access_token;
      const o = (await opaqueOwner.token()).access_token;
      const s = await as(stranger);
      assert.deepEqual({ ...(await s.introspect(t)) }, INACTIVE, 'a client with no relation to the token');
      assert.deepEqual({ ...(await s.introspect(o)) }, INACTIVE);
      // A client whose audience list names the token's aud gains nothing by it (SPEC §3).
      const rs = await as(resourceServer, 'post');
      assert.deepEqual({ ...(await rs.introspect(t)) }, INACTIVE, 'audience grants no introspection rights');
      assert.deepEqual({ ...(await rs.introspect(o)) }, INACTIVE, 'opaque token for another API');
      const gw = await as(introspector);
      assert.equal((await gw.introspect(t)).active, true);
      assert.equal((await gw.introspect(o)).active, true);
      // The opaque client may not introspect the JWT client's token either.
      assert.deepEqual({ ...(await opaqueOwner.introspect(t)) }, INACTIVE);
    });

    it('malformed, unknown, foreign-signed, unsigned, tampered and expired tokens: exactly {"active": false}', { skip }, async () => {
      const gw = await as(introspector);
      const good = (await owner.token()).access_token;
      const [h, p] = good.split('.');
      const realKid = decodeProtectedHeader(good).kid!;
      const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const claims = decodeJwt(good);
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'never-had-this-key' }).sign(foreign);
      const forgedKid = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: realKid }).sign(foreign);
      const unsigned = new UnsecuredJWT({ ...claims }).encode();
      // Algorithm confusion: HS256 keyed with our public key (as PEM and as the JWK JSON).
      const pub = srv.services.keyring.publicKey(realKid)!.key;
      const hsPem = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: realKid }).sign(new TextEncoder().encode(pub.export({ type: 'spki', format: 'pem' }) as string));
      const hsJwk = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: realKid }).sign(new TextEncoder().encode(JSON.stringify(pub.export({ format: 'jwk' }))));
      const noTyp = srv.services.keyring.signer().sign(JSON.stringify(claims)).split('.');
      const wrongTyp = `${Buffer.from(JSON.stringify({ ...decodeProtectedHeader(good), typ: 'JWT' })).toString('base64url')}.${noTyp[1]}.${noTyp[2]}`;
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'orders:write admin' })).toString('base64url')}.${good.split('.')[2]}`;
      // Genuinely signed by our current key, but expired / wrong typ / wrong issuer.
      const signer = srv.services.keyring.signer();
      const expired = signer.sign(JSON.stringify({ ...claims, iat: now - 120, exp: now - 60 }));
      const otherIss = signer.sign(JSON.stringify({ ...claims, iss: 'https://evil.example.com' }));
      const expiredOpaque = 'lko_' + 'e'.repeat(43);
      await srv.services.store.insertOpaqueTokens([
        { token_hash: opaqueTokenHash(expiredOpaque), jti: 'expired-opaque', client_id: opaqueClient.client_id, scope: 'billing:read', aud: [API], iat: now - 120, exp: now - 60, cnf: null, token_type: 'Bearer' },
      ]);
      const cases: Record<string, string> = {
        garbage: 'not a token',
        dots: 'a.b.c',
        twoParts: `${h}.${p}`,
        unknownOpaque: 'lko_' + 'A'.repeat(43),
        foreignKid: forged,
        foreignKeyRealKid: forgedKid,
        unsigned,
        hsPem,
        hsJwk,
        wrongTyp,
        tampered,
        expired,
        otherIss,
        expiredOpaque,
        huge: 'x'.repeat(20_000),
      };
      for (const [name, token] of Object.entries(cases)) {
        const r = await introspectRaw({ token }, { authorization: basic(introspector.client_id, introspector.client_secret) });
        assert.equal(r.status, 200, name);
        assert.equal(r.text, '{"active":false}', name);
        assert.equal(r.headers.get('cache-control'), 'no-store', name);
      }
      assert.equal((await gw.introspect(good)).active, true, 'control: the untouched token is active');
    });

    it('client authentication is required: none → 401 invalid_client with a Basic challenge; wrong secret → 401', { skip }, async () => {
      const t = (await owner.token()).access_token;
      for (const r of [
        await introspectRaw({ token: t }),
        await revokeRaw({ token: t }),
        await introspectRaw({ token: t }, { authorization: basic(jwtClient.client_id, jwtClient.client_secret + 'x') }),
        await revokeRaw({ token: t, client_id: 'nobody', client_secret: 'nothing' }),
      ]) {
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, { error: 'invalid_client', error_description: 'client authentication failed' });
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
      const none = await introspectRaw({ token: t });
      assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      // client_secret_post works where the client is registered for it.
      const viaPost = await introspectRaw({ token: t, client_id: resourceServer.client_id, client_secret: resourceServer.client_secret });
      assert.equal(viaPost.status, 200);
    });

    it('bad requests: missing token → 400 invalid_request; repeated parameter → 400; non-form → 400; GET → 405', { skip }, async () => {
      const auth = { authorization: basic(jwtClient.client_id, jwtClient.client_secret) };
      for (const send of [introspectRaw, revokeRaw]) {
        const missing = await send({}, auth);
        assert.equal(missing.status, 400);
        assert.deepEqual(missing.json, { error: 'invalid_request', error_description: 'token is required' });
        const empty = await send('token=', auth);
        assert.equal(empty.status, 400);
        const dup = await send('token=a&token=b', auth);
        assert.equal(dup.status, 400);
        assert.deepEqual(dup.json, { error: 'invalid_request', error_description: 'parameter token is repeated' });
      }
      const json = await fetch(`${srv.url}/oauth2/introspect`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{"token":"x"}' });
      assert.equal(json.status, 400);
      assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
      for (const path of ['/oauth2/introspect', '/oauth2/revoke']) {
        const g = await fetch(`${srv.url}${path}?token=x`, { headers: auth });
        assert.equal(g.status, 405);
        assert.equal(g.headers.get('allow'), 'POST');
      }
    });

    it('revoking a JWT: 200, then inactive; the signature itself stays valid (local verifiers do not see it)', { skip }, async () => {
      const t = (await owner.token()).access_token;
      assert.equal((await owner.introspect(t)).active, true);
      const r = await revokeRaw({ token: t }, { authorization: basic(jwtClient.client_id, jwtClient.client_secret) });
      assert.equal(r.status, 200);
      assert.equal(r.text, '');
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.deepEqual({ ...(await owner.introspect(t)) }, INACTIVE);
      const gw = await as(introspector);
      assert.deepEqual({ ...(await gw.introspect(t)) }, INACTIVE);
      const jti = decodeJwt(t).jti!;
      assert.equal(await srv.services.store.isJtiRevoked(jti), true, 'recorded by jti');
      // Revoking again is fine (idempotent, RFC 7009 §2.2).
      await owner.revoke(t);
    });

    it('revoking an opaque token deletes it at once', { skip }, async () => {
      const t = (await opaqueOwner.token()).access_token;
      await opaqueOwner.revoke(t, 'access_token');
      assert.equal(await srv.services.store.getOpaqueToken(opaqueTokenHash(t)), undefined);
      assert.deepEqual({ ...(await (await as(introspector)).introspect(t)) }, INACTIVE);
    });

    it('a client can revoke only its own tokens: a foreign token → 200 and nothing happens (RFC 7009 §2.1)', { skip }, async () => {
      const t = (await owner.token()).access_token;
      const o = (await opaqueOwner.token()).access_token;
      const gw = await as(introspector);
      // Even the holder of latchkey:introspect cannot revoke other clients' tokens.
      for (const c of [await as(stranger), gw, await as(resourceServer, 'post')]) {
        await c.revoke(t);
        await c.revoke(o);
      }
      assert.equal((await gw.introspect(t)).active, true);
      assert.equal((await gw.introspect(o)).active, true);
      assert.equal(await srv.services.store.isJtiRevoked(decodeJwt(t).jti!), false);
    });

    it('unknown, malformed and expired tokens → 200; any token_type_hint is accepted and ignored (RFC 7009 §2.2.1)', { skip }, async () => {
      for (const token of ['nope', 'a.b.c', 'lko_' + 'Z'.repeat(43)]) {
        for (const hint of [undefined, 'access_token', 'refresh_token', 'something_else']) {
          const r = await revokeRaw({ token, ...(hint ? { token_type_hint: hint } : {}) }, { authorization: basic(jwtClient.client_id, jwtClient.client_secret) });
          assert.equal(r.status, 200, `${token} ${hint}`);
        }
      }
      // A wrong hint does not stop the revocation of a real token.
      const t = (await owner.token()).access_token;
      await owner.revoke(t, 'refresh_token');
      assert.deepEqual({ ...(await owner.introspect(t, 'refresh_token')) }, INACTIVE);
    });

    it('disabling or deleting a client deactivates its tokens for introspection', { skip }, async () => {
      const c = (await srv.createClient({ client_name: 'temp', scope: 's', access_token_format: 'opaque' })) as Creds;
      const cj = (await srv.createClient({ client_name: 'temp-jwt', scope: 's' })) as Creds;
      const ot = (await (await as(c)).token()).access_token;
      const jt = (await (await as(cj)).token()).access_token;
      const gw = await as(introspector);
      assert.equal((await gw.introspect(ot)).active, true);
      assert.equal((await gw.introspect(jt)).active, true);
      const svc = new (await import('../../src/management/clients.service.js')).ClientService(srv.services);
      await svc.setDisabled(c.client_id, true, 'test');
      await svc.delete(cj.client_id, 'test');
      await srv.sync();
      assert.deepEqual({ ...(await gw.introspect(ot)) }, INACTIVE);
      assert.deepEqual({ ...(await gw.introspect(jt)) }, INACTIVE);
      await svc.setDisabled(c.client_id, false, 'test');
      await srv.sync();
      assert.equal((await gw.introspect(ot)).active, true, 're-enabled');
    });

    it('bound tokens carry cnf and token_type (RFC 9449 §8, RFC 8705 §3.2)', { skip }, async () => {
      const gw = await as(introspector);
      const cached = srv.services.clients.get(jwtClient.client_id)!;
      const cachedOpaque = srv.services.clients.get(opaqueClient.client_id)!;
      const dpop = await srv.services.minter.mint({ client: cached, scope: 'orders:read', aud: [API], cnf: { jkt: 'dpop-thumbprint' }, tokenType: 'DPoP' });
      const mtls = await srv.services.minter.mint({ client: cachedOpaque, scope: 'billing:read', aud: [API], cnf: { 'x5t#S256': 'cert-thumbprint' }, tokenType: 'Bearer' });
      const a = await gw.introspect(dpop.access_token);
      assert.equal(a.token_type, 'DPoP');
      assert.deepEqual(a.cnf, { jkt: 'dpop-thumbprint' });
      const b = await gw.introspect(mtls.access_token);
      assert.equal(b.token_type, 'Bearer');
      assert.deepEqual(b.cnf, { 'x5t#S256': 'cert-thumbprint' });
    });

    it('a revocation reaches a second node through the change feed within a second', { skip }, async () => {
      // Second node of the same deployment: same store, same key-encryption key (data dir), same issuer.
      const node2b = await startTestServer({ db: srv.db, dataDir: srv.dataDir, config: { issuer: srv.issuer } });
      try {
        await node2b.sync();
        const t = (await owner.token()).access_token;
        const r2 = () =>
          postForm(`${node2b.url}/oauth2/introspect`, { token: t }, { authorization: basic(node2b.admin.client_id, node2b.admin.client_secret) });
        assert.equal((await r2()).json.active, true, 'node 2 verifies node 1 tokens');
        const started = Date.now();
        await owner.revoke(t);
        assert.ok(await eventually(async () => (await r2()).json.active === false, 3000), 'node 2 sees the revocation');
        assert.ok(Date.now() - started < 1500, `propagated in ${Date.now() - started} ms`);
      } finally {
        await node2b.close();
      }
    });
  });
}
