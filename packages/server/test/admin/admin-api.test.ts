import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair, decodeJwt } from 'jose';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from './helpers.js';

describe('admin API /admin/v1 (SPEC §3)', () => {
  let srv: TestServer;
  let admin: string;

  before(async () => {
    srv = await startTestServer();
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
  });
  after(() => srv.close());

  describe('authentication (RFC 6750)', () => {
    const routes: [string, string][] = [
      ['GET', '/clients'],
      ['POST', '/clients'],
      ['GET', '/clients/x'],
      ['PATCH', '/clients/x'],
      ['DELETE', '/clients/x'],
      ['POST', '/clients/x/disable'],
      ['POST', '/clients/x/enable'],
      ['POST', '/clients/x/rotate-secret'],
      ['GET', '/keys'],
      ['POST', '/keys/rotate'],
      ['GET', '/audit'],
      ['GET', '/registration-tokens'],
      ['POST', '/registration-tokens'],
      ['DELETE', '/registration-tokens/x'],
    ];

    it('every route: no token → 401 with a bare Bearer challenge', async () => {
      for (const [m, p] of routes) {
        const r = await api(srv, m, p, m === 'POST' || m === 'PATCH' ? { body: {} } : {});
        assert.equal(r.status, 401, `${m} ${p}`);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin"', `${m} ${p}`);
        assert.deepEqual(r.json, { error: 'invalid_token', error_description: 'an access token with scope latchkey:admin is required' });
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
    });

    it('every route: token without latchkey:admin → 403 insufficient_scope naming the scope', async () => {
      const c = await srv.createClient({ client_name: 'reader', scope: 'latchkey:introspect other', audience: [srv.issuer] });
      const t = await tokenFor(srv, c.client_id, c.client_secret!);
      for (const [m, p] of routes) {
        const r = await api(srv, m, p, { token: t, ...(m === 'POST' || m === 'PATCH' ? { body: {} } : {}) });
        assert.equal(r.status, 403, `${m} ${p}`);
        assert.equal(
          r.headers.get('www-authenticate'),
          'Bearer realm="latchkey-admin", error="insufficient_scope", error_description="the access token lacks scope latchkey:admin", scope="latchkey:admin"',
        );
        assert.deepEqual(r.json, { error: 'insufficient_scope', error_description: 'the access token lacks scope latchkey:admin' });
      }
    });

    it('the admin client asking for another scope only gets 403', async () => {
      const t = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:introspect');
      assert.equal((await api(srv, 'GET', '/clients', { token: t })).status, 403);
    });

    const invalid = { error: 'invalid_token', error_description: 'the access token is not valid' };
    const challenge = 'Bearer realm="latchkey-admin", error="invalid_token", error_description="the access token is not valid"';

    it('a token signed by another key, garbage, or a wrong scheme → 401 invalid_token', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ client_id: srv.admin.client_id, scope: 'latchkey:admin', jti: 'x' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeJwtHeaderKid(admin) })
        .setIssuer(srv.issuer)
        .setSubject(srv.admin.client_id)
        .setAudience(srv.issuer)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      for (const t of [forged, 'not-a-jwt', admin.slice(0, -4) + 'AAAA']) {
        const r = await api(srv, 'GET', '/clients', { token: t });
        assert.equal(r.status, 401);
        assert.deepEqual(r.json, invalid);
        assert.equal(r.headers.get('www-authenticate'), challenge);
      }
      const basicAuth = await api(srv, 'GET', '/clients', { headers: { authorization: basic(srv.admin.client_id, srv.admin.client_secret) } });
      assert.equal(basicAuth.status, 401);
      assert.equal(basicAuth.json.error, 'invalid_token');
      const dpop = await api(srv, 'GET', '/clients', { headers: { authorization: `DPoP ${admin}` } });
      assert.equal(dpop.status, 401);
      assert.match(dpop.json.error_description, /DPoP-bound tokens are not accepted/);
    });

    it('a token with latchkey:admin but another audience → 401 (the admin API is the resource named by the issuer)', async () => {
      const c = await srv.createClient({ client_name: 'elsewhere', scope: 'latchkey:admin', audience: ['https://api.example.com'] });
      const t = await tokenFor(srv, c.client_id, c.client_secret!);
      assert.equal(decodeJwt(t).aud, 'https://api.example.com');
      const r = await api(srv, 'GET', '/clients', { token: t });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, invalid);
    });

    it('a token of a client disabled since → 401; enabled again → accepted', async () => {
      const c = await srv.createClient({ client_name: 'second admin', scope: 'latchkey:admin', audience: [srv.issuer] });
      const t = await tokenFor(srv, c.client_id, c.client_secret!);
      assert.equal((await api(srv, 'GET', '/keys', { token: t })).status, 200);
      assert.equal((await api(srv, 'POST', `/clients/${c.client_id}/disable`, { token: admin })).status, 200);
      await srv.sync();
      assert.equal((await api(srv, 'GET', '/keys', { token: t })).status, 401);
      assert.equal((await api(srv, 'POST', `/clients/${c.client_id}/enable`, { token: admin })).status, 200);
      await srv.sync();
      assert.equal((await api(srv, 'GET', '/keys', { token: t })).status, 200);
    });

    it('a revoked admin token (RFC 7009) → 401', async () => {
      const t = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
      assert.equal((await api(srv, 'GET', '/keys', { token: t })).status, 200);
      const rv = await postForm(`${srv.url}/oauth2/revoke`, { token: t }, { authorization: basic(srv.admin.client_id, srv.admin.client_secret) });
      assert.equal(rv.status, 200);
      const r = await api(srv, 'GET', '/keys', { token: t });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, invalid);
    });

    it('an opaque admin token works; an expired-looking unknown opaque token does not', async () => {
      const c = await srv.createClient({ client_name: 'opaque admin', scope: 'latchkey:admin', audience: [srv.issuer], access_token_format: 'opaque' });
      const t = await tokenFor(srv, c.client_id, c.client_secret!);
      assert.match(t, /^lko_/);
      assert.equal((await api(srv, 'GET', '/keys', { token: t })).status, 200);
      assert.equal((await api(srv, 'GET', '/keys', { token: t + 'x' })).status, 401);
    });
  });

  describe('clients', () => {
    it('create → 201 with Location, the secret once, and an audit record', async () => {
      const r = await api(srv, 'POST', '/clients', {
        token: admin,
        body: { client_name: 'billing', scope: 'billing:read billing:write', default_scope: 'billing:read', audience: ['https://billing.example.com'], access_token_ttl: 600 },
      });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('location'), `/admin/v1/clients/${r.json.client_id}`);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.match(r.json.client_secret, /^lk_[A-Za-z0-9_-]{43}$/);
      const { client_secret, client_id, client_id_issued_at, ...rest } = r.json;
      assert.match(client_id, /^[A-Za-z0-9_-]{22}$/);
      assert.equal(typeof client_id_issued_at, 'number');
      assert.deepEqual(rest, {
        client_name: 'billing',
        scope: 'billing:read billing:write',
        default_scope: 'billing:read',
        audience: ['https://billing.example.com'],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        access_token_ttl: 600,
        access_token_format: 'jwt',
        disabled: false,
        client_secret_expires_at: 0,
        client_secrets_active: 1,
      });
      // The new client works at the token endpoint once the change feed has been applied.
      await srv.sync();
      const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(client_id, client_secret) });
      assert.equal(tok.status, 200);
      assert.equal(tok.json.scope, 'billing:read');
      // Read back: never the secret.
      const g = await api(srv, 'GET', `/clients/${client_id}`, { token: admin });
      assert.equal(g.status, 200);
      assert.equal(g.json.client_secret, undefined);
      assert.equal(g.json.client_name, 'billing');
      const audit = await api(srv, 'GET', `/audit?client=${client_id}`, { token: admin });
      assert.equal(audit.status, 200);
      assert.equal(audit.json.records.length, 1);
      assert.equal(audit.json.records[0].action, 'client.create');
      assert.equal(audit.json.records[0].actor, `admin:${srv.admin.client_id}`);
      assert.equal(JSON.stringify(audit.json).includes(client_secret), false, 'no secret in the audit log');
    });

    it('validation errors name the field', async () => {
      const cases: [unknown, number, Record<string, unknown>][] = [
        [{ client_name: 'x', scope: 'a "b' }, 400, { error: 'invalid_client_metadata', error_description: 'scope: must be space-separated scope tokens (RFC 6749 §3.3)', field: 'scope' }],
        [{ client_name: 'x', audience: ['not a uri'] }, 400, { error: 'invalid_client_metadata', error_description: 'audience.0: must be an absolute URI without a fragment (RFC 8707 §2)', field: 'audience.0' }],
        [{ client_name: 'x', token_endpoint_auth_method: 'none' }, 400, { field: 'token_endpoint_auth_method' }],
        [{ client_name: 'x', scope: 'a', default_scope: 'b' }, 400, { error: 'invalid_client_metadata', error_description: 'default_scope: "b" is not in scope', field: 'default_scope' }],
        [{ client_name: 'x', access_token_ttl: 10 ** 9 }, 400, { field: 'access_token_ttl' }],
        [{ client_name: 'x', surprise: 1 }, 400, { error: 'invalid_client_metadata' }],
        [{ client_name: 'x', client_id: 'a b' }, 400, { field: 'client_id' }],
        [[1, 2], 400, { error: 'invalid_request', error_description: 'body: must be a JSON object', field: 'body' }],
      ];
      for (const [body, status, expected] of cases) {
        const r = await api(srv, 'POST', '/clients', { token: admin, body });
        assert.equal(r.status, status, JSON.stringify(body));
        for (const [k, v] of Object.entries(expected)) assert.equal(r.json[k], v, `${JSON.stringify(body)} → ${k}`);
        assert.ok(typeof r.json.error_description === 'string' && r.json.error_description.startsWith(`${r.json.field}: `), JSON.stringify(r.json));
      }
      const form = await api(srv, 'POST', '/clients', { token: admin, body: 'client_name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(form.status, 400);
      assert.deepEqual(form.json, { error: 'invalid_request', error_description: 'body: must be a JSON object sent as application/json', field: 'body' });
      const malformed = await api(srv, 'POST', '/clients', { token: admin, body: '{"client_name":', headers: { 'content-type': 'application/json' } });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.error, 'invalid_request');
      const dup = await api(srv, 'POST', '/clients', { token: admin, body: { client_id: 'dup-client', client_name: 'a' } });
      assert.equal(dup.status, 201);
      const dup2 = await api(srv, 'POST', '/clients', { token: admin, body: { client_id: 'dup-client', client_name: 'b' } });
      assert.deepEqual(dup2.json, { error: 'invalid_client_metadata', error_description: 'client_id: already exists', field: 'client_id' });
    });

    it('list pages and searches; bad paging names the parameter', async () => {
      for (const n of ['search-alpha', 'search-beta', 'search-gamma']) assert.equal((await api(srv, 'POST', '/clients', { token: admin, body: { client_name: n } })).status, 201);
      const all = await api(srv, 'GET', '/clients?search=search-&limit=2', { token: admin });
      assert.equal(all.status, 200);
      assert.equal(all.json.total, 3);
      assert.equal(all.json.limit, 2);
      assert.equal(all.json.offset, 0);
      assert.deepEqual(all.json.clients.map((c: any) => c.client_name), ['search-alpha', 'search-beta']);
      const p2 = await api(srv, 'GET', '/clients?search=search-&limit=2&offset=2', { token: admin });
      assert.deepEqual(p2.json.clients.map((c: any) => c.client_name), ['search-gamma']);
      assert.ok(p2.json.clients.every((c: any) => c.client_secret === undefined && c.client_secrets_active === undefined), 'list items carry no secret state');
      const one = await api(srv, 'GET', '/clients?search=beta', { token: admin });
      assert.deepEqual(one.json.clients.map((c: any) => c.client_name), ['search-beta']);
      const bad = await api(srv, 'GET', '/clients?limit=0', { token: admin });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, 'limit');
      assert.equal(bad.json.error, 'invalid_request');
      const bad2 = await api(srv, 'GET', '/clients?offset=abc', { token: admin });
      assert.deepEqual(bad2.json, { error: 'invalid_request', error_description: 'offset: must be an integer', field: 'offset' });
    });

    it('read / update / disable / enable / rotate-secret / delete, and 404s', async () => {
      const c = (await api(srv, 'POST', '/clients', { token: admin, body: { client_name: 'lifecycle', scope: 'a b' } })).json;
      const id = c.client_id;
      const u = await api(srv, 'PATCH', `/clients/${id}`, { token: admin, body: { scope: 'a b c', access_token_format: 'opaque', audience: ['https://x.example'] } });
      assert.equal(u.status, 200);
      assert.equal(u.json.scope, 'a b c');
      assert.equal(u.json.access_token_format, 'opaque');
      assert.deepEqual(u.json.audience, ['https://x.example']);
      const badU = await api(srv, 'PATCH', `/clients/${id}`, { token: admin, body: { token_endpoint_auth_method: 'client_secret_post' } });
      assert.deepEqual(badU.json, { error: 'invalid_client_metadata', error_description: 'token_endpoint_auth_method: cannot be changed on an existing client', field: 'token_endpoint_auth_method' });

      const d = await api(srv, 'POST', `/clients/${id}/disable`, { token: admin });
      assert.equal(d.status, 200);
      assert.equal(d.json.disabled, true);
      assert.equal(d.json.client_secrets_active, 1, 'disable answers the full client, secret state included');
      await srv.sync();
      const refused = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, c.client_secret) });
      assert.equal(refused.status, 401);
      assert.equal((await api(srv, 'POST', `/clients/${id}/enable`, { token: admin })).json.disabled, false);
      await srv.sync();

      const rot = await api(srv, 'POST', `/clients/${id}/rotate-secret`, { token: admin, body: { grace_seconds: 300 } });
      assert.equal(rot.status, 200);
      assert.notEqual(rot.json.client_secret, c.client_secret);
      assert.equal(rot.json.client_secrets_active, 2);
      assert.ok(Math.abs(rot.json.previous_secrets_expire_at - (Math.floor(Date.now() / 1000) + 300)) <= 5);
      await srv.sync();
      for (const secret of [c.client_secret, rot.json.client_secret]) {
        const t = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
        assert.equal(t.status, 200, 'old secret works during the grace period, the new one at once');
      }
      const badRot = await api(srv, 'POST', `/clients/${id}/rotate-secret`, { token: admin, body: { grace_seconds: -1 } });
      assert.equal(badRot.status, 400);
      assert.equal(badRot.json.field, 'grace_seconds');
      const rot0 = await api(srv, 'POST', `/clients/${id}/rotate-secret`, { token: admin });
      assert.equal(rot0.status, 200);
      await srv.sync();
      const old = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, rot.json.client_secret) });
      assert.equal(old.status, 401, 'grace 0 revokes older secrets at once');

      assert.equal((await api(srv, 'DELETE', `/clients/${id}`, { token: admin })).status, 204);
      const gone = await api(srv, 'GET', `/clients/${id}`, { token: admin });
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json, { error: 'not_found', error_description: 'no such client' });
      for (const [m, p] of [
        ['PATCH', `/clients/${id}`],
        ['DELETE', `/clients/${id}`],
        ['POST', `/clients/${id}/disable`],
        ['POST', `/clients/${id}/rotate-secret`],
      ] as const) {
        const r = await api(srv, m, p, { token: admin, ...(m === 'PATCH' ? { body: { client_name: 'z' } } : {}) });
        assert.equal(r.status, 404, `${m} ${p}`);
      }
      const actions = (await api(srv, 'GET', `/audit?client=${id}`, { token: admin })).json.records.map((r: any) => r.action);
      assert.deepEqual(actions, ['client.delete', 'client.rotate_secret', 'client.rotate_secret', 'client.enable', 'client.disable', 'client.update', 'client.create']);
    });

    it('an admin cannot disable or delete the client it is signed in as', async () => {
      const r = await api(srv, 'DELETE', `/clients/${srv.admin.client_id}`, { token: admin });
      assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'client_id: an admin client cannot delete itself', field: 'client_id' });
      assert.equal((await api(srv, 'POST', `/clients/${srv.admin.client_id}/disable`, { token: admin })).status, 400);
    });

    it('unknown methods on known paths → 405 with Allow', async () => {
      const r = await api(srv, 'PUT', '/clients', { token: admin, body: {} });
      assert.equal(r.status, 405);
      assert.equal(r.headers.get('allow'), 'GET, POST');
    });
  });

  describe('keys, audit, registration tokens, OpenAPI', () => {
    it('keys: list, rotate (next key published before it signs)', async () => {
      const l = await api(srv, 'GET', '/keys', { token: admin });
      assert.equal(l.status, 200);
      assert.equal(l.json.keys.length, 1);
      assert.equal(l.json.keys[0].state, 'current');
      assert.equal(l.json.keys[0].public_jwk.d, undefined, 'public part only');
      assert.equal(JSON.stringify(l.json).includes('private'), false);
      const r = await api(srv, 'POST', '/keys/rotate', { token: admin, body: { prepublish_seconds: 600 } });
      assert.equal(r.status, 201);
      assert.equal(r.json.state, 'next');
      assert.equal(r.json.alg, 'ES256');
      const after = (await api(srv, 'GET', '/keys', { token: admin })).json.keys.map((k: any) => [k.kid, k.state]);
      assert.deepEqual(after, [
        [r.json.kid, 'next'],
        [l.json.keys[0].kid, 'current'],
      ]);
      const jwks = (await (await fetch(`${srv.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      assert.ok(jwks.keys.some((k) => k.kid === r.json.kid), 'next key is published');
      const bad = await api(srv, 'POST', '/keys/rotate', { token: admin, body: { alg: 'HS256' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, 'alg');
      // Admin tokens keep working: the current key still signs.
      assert.equal((await api(srv, 'GET', '/keys', { token: admin })).status, 200);
    });

    it('audit: since/limit filters and validation', async () => {
      const all = await api(srv, 'GET', '/audit?limit=2', { token: admin });
      assert.equal(all.status, 200);
      assert.equal(all.json.records.length, 2);
      assert.ok(all.json.records[0].id > all.json.records[1].id, 'newest first');
      assert.match(all.json.records[0].at, /^\d{4}-\d\d-\d\dT/);
      const future = await api(srv, 'GET', `/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: admin });
      assert.deepEqual(future.json, { records: [] });
      const bad = await api(srv, 'GET', '/audit?since=yesterday', { token: admin });
      assert.deepEqual(bad.json, { error: 'invalid_request', error_description: 'since: must be an ISO 8601 time or epoch milliseconds', field: 'since' });
    });

    it('registration tokens: create (shown once), list (hash only), delete', async () => {
      const c = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'reports:read', audience: ['https://reports.example.com'], max_clients: 5, ttl: 600 } });
      assert.equal(c.status, 201);
      assert.match(c.json.token, /^lki_[A-Za-z0-9_-]{43}$/);
      assert.equal(c.json.scope, 'reports:read');
      assert.deepEqual(c.json.audience, ['https://reports.example.com']);
      assert.equal(c.json.max_clients, 5);
      assert.equal(c.json.created_by, `admin:${srv.admin.client_id}`);
      assert.equal(c.json.expired, false);
      assert.ok(Math.abs(Date.parse(c.json.expires_at) - Date.now() - 600_000) < 10_000);
      const l = await api(srv, 'GET', '/registration-tokens', { token: admin });
      assert.equal(l.status, 200);
      assert.deepEqual(
        l.json.registration_tokens.find((t: any) => t.id === c.json.id),
        {
          id: c.json.id,
          scope: 'reports:read',
          audience: ['https://reports.example.com'],
          max_clients: 5,
          clients_registered: 0,
          created_at: c.json.created_at,
          expires_at: c.json.expires_at,
          created_by: c.json.created_by,
          expired: false,
          legacy: false,
        },
      );
      assert.equal(JSON.stringify(l.json).includes(c.json.token), false);
      const bad = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a', audience: ['https://a.example'], ttl: 5 } });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.field, 'ttl');
      // SPEC §7: both caps are mandatory; latchkey:* is never grantable; the quota is bounded.
      for (const [body, field] of [
        [{ audience: ['https://a.example'] }, 'scope'],
        [{ scope: 'a' }, 'audience'],
        [{ scope: 'a', audience: [] }, 'audience'],
        [{ scope: 'a latchkey:admin', audience: ['https://a.example'] }, 'scope'],
        [{ scope: 'a', audience: ['not a uri'] }, 'audience.0'],
        [{ scope: 'a', audience: ['https://a.example'], max_clients: 0 }, 'max_clients'],
        [{ scope: 'a', audience: ['https://a.example'], client_id: 'x' }, 'body'],
      ] as const) {
        const r = await api(srv, 'POST', '/registration-tokens', { token: admin, body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.json.error, 'invalid_request');
        assert.equal(r.json.field, field, JSON.stringify(body) + ' → ' + JSON.stringify(r.json));
      }
      assert.equal((await api(srv, 'DELETE', `/registration-tokens/${c.json.id}`, { token: admin })).status, 204);
      assert.equal((await api(srv, 'DELETE', `/registration-tokens/${c.json.id}`, { token: admin })).status, 404);
    });

    it('openapi.json is public, OpenAPI 3.1, and describes exactly the routes served', async () => {
      const r = await fetch(`${srv.url}/admin/v1/openapi.json`);
      assert.equal(r.status, 200);
      const doc = (await r.json()) as { openapi: string; servers: { url: string }[]; paths: unknown };
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.servers[0]?.url, `${srv.issuer}/admin/v1`);
      const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
        .flatMap(([p, ops]) => Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${p}`))
        .sort();
      assert.deepEqual(described, [
        'DELETE /clients/{id}',
        'DELETE /registration-tokens/{id}',
        'DELETE /trusted-issuers/{id}',
        'GET /audit',
        'GET /clients',
        'GET /clients/export',
        'GET /clients/{id}',
        'GET /keys',
        'GET /registration-tokens',
        'GET /trusted-issuers',
        'GET /trusted-issuers/{id}',
        'PATCH /clients/{id}',
        'PATCH /trusted-issuers/{id}',
        'POST /clients',
        'POST /clients/import',
        'POST /clients/{id}/disable',
        'POST /clients/{id}/enable',
        'POST /clients/{id}/rotate-secret',
        'POST /keys/rotate',
        'POST /registration-tokens',
        'POST /trusted-issuers',
      ]);
      // Each described operation exists: without a token it answers 401, never 404/405.
      for (const op of described) {
        const [m, p] = op.split(' ') as [string, string];
        const res = await api(srv, m, p.replace('{id}', 'some-id'));
        assert.equal(res.status, 401, op);
      }
    });
  });
});

function decodeJwtHeaderKid(jwt: string): string {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid;
}
