/**
 * RFC 7591 / RFC 7592 with an independent client: plain fetch, following the RFCs' examples, no
 * Latchkey code on the client side. Initial access tokens come from the admin API, with the mandatory
 * scope and audience caps of SPEC §7 (test/registration/ covers the policy itself).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { basic, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from './helpers.js';

async function call(method: string, url: string, token: string | undefined, body?: unknown, contentType = 'application/json') {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

for (const store of ['sqlite', 'postgres'] as const) {
describe(`dynamic client registration (RFC 7591, RFC 7592) on ${store}`, { skip: store === 'postgres' && !(await pgAvailable()) }, () => {
  let srv: TestServer;
  let admin: string;
  let reg: string;
  const AUD = 'https://reports.example.com';
  const iat = async (body: Record<string, unknown>) => {
    const r = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { audience: [AUD], ...body } });
    assert.equal(r.status, 201);
    return r.json.token as string;
  };

  before(async () => {
    srv = await startTestServer({ store });
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    const meta = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as { registration_endpoint: string };
    reg = meta.registration_endpoint;
  });
  after(() => srv.close());

  it('metadata advertises the registration endpoint (RFC 8414 §2)', () => {
    assert.equal(reg, `${srv.issuer}/oauth2/register`);
  });

  it('register → 201 with client_id, secret, RFC 7592 credentials; the client gets tokens capped by the initial access token', async () => {
    const t = await iat({ scope: 'reports:read reports:write' });
    const r = await call('POST', reg, t, {
      client_name: 'Reporting job',
      scope: 'reports:read',
      audience: ['https://reports.example.com'],
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: ['https://ignored.example.com/cb'],
      logo_uri: 'https://ignored.example.com/logo.png',
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('pragma'), 'no-cache');
    const b = r.json;
    assert.match(b.client_id, /^[A-Za-z0-9_-]{22}$/);
    assert.match(b.client_secret, /^lk_/);
    assert.equal(b.client_secret_expires_at, 0, 'RFC 7591 §3.2.1: required with a secret; 0 = never');
    assert.equal(typeof b.client_id_issued_at, 'number');
    assert.match(b.registration_access_token, /^lkr_[A-Za-z0-9_-]{43}$/);
    assert.equal(b.registration_client_uri, `${srv.issuer}/oauth2/register/${b.client_id}`);
    assert.equal(b.client_name, 'Reporting job');
    assert.equal(b.scope, 'reports:read');
    assert.deepEqual(b.audience, ['https://reports.example.com']);
    assert.equal(b.token_endpoint_auth_method, 'client_secret_post');
    assert.deepEqual(b.grant_types, ['client_credentials']);
    assert.equal(b.redirect_uris, undefined, 'unknown metadata is ignored (RFC 7591 §2)');
    assert.equal(b.logo_uri, undefined);

    await srv.sync();
    const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: b.client_id, client_secret: b.client_secret });
    assert.equal(tok.status, 200);
    assert.equal(tok.json.scope, 'reports:read');
    assert.equal(decodeJwt(tok.json.access_token).aud, 'https://reports.example.com');

    const audit = await api(srv, 'GET', `/audit?client=${b.client_id}`, { token: admin });
    assert.equal(audit.json.records[0].action, 'client.create');
    assert.match(audit.json.records[0].actor, /^registration:/);
  });

  it('scope omitted → the initial access token cap; scope beyond the cap → invalid_client_metadata', async () => {
    const t = await iat({ scope: 'a b' });
    const d = await call('POST', reg, t, { client_name: 'defaults' });
    assert.equal(d.status, 201);
    assert.equal(d.json.scope, 'a b');
    assert.deepEqual(d.json.audience, [AUD], 'audience omitted → the initial access token cap');
    const over = await call('POST', reg, t, { client_name: 'greedy', scope: 'a c' });
    assert.equal(over.status, 400);
    assert.deepEqual(over.json, { error: 'invalid_client_metadata', error_description: 'scope: "c" is not allowed by the initial access token', field: 'scope' });
  });

  it('latchkey:* scopes cannot be self-registered', async () => {
    const t = await iat({ scope: 'x y' });
    const r = await call('POST', reg, t, { client_name: 'sneaky', scope: 'x latchkey:admin', audience: [AUD] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_client_metadata', error_description: 'scope: "latchkey:admin" is reserved to Latchkey and never granted through registration', field: 'scope' });
    const ok = await call('POST', reg, t, { client_name: 'plain', scope: 'x y' });
    assert.equal(ok.status, 201);
  });

  it('the client never chooses its client_id (RFC 9700 §4.15); bad metadata names the field', async () => {
    const t = await iat({ scope: 'a' });
    const cases: [unknown, number, Record<string, unknown>][] = [
      [{ client_id: 'my-own-id', client_name: 'x' }, 400, { error: 'invalid_client_metadata', error_description: 'client_id: is chosen by the server (RFC 9700 §4.15)', field: 'client_id' }],
      [{ grant_types: ['authorization_code'] }, 400, { error: 'invalid_client_metadata', field: 'grant_types.0' }],
      [{ token_endpoint_auth_method: 'private_key_jwt' }, 400, { error: 'invalid_client_metadata', error_description: 'jwks: private_key_jwt needs jwks or jwks_uri', field: 'jwks' }],
      [{ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, token_endpoint_auth_method: 'private_key_jwt' }, 400, { error: 'invalid_client_metadata', error_description: 'jwks: jwks must hold public keys only', field: 'jwks' }],
      [{ access_token_format: 'paseto' }, 400, { error: 'invalid_client_metadata', field: 'access_token_format' }],
      [{ disabled: true, client_name: 'ignored flag' }, 201, {}],
    ];
    for (const [body, status, expected] of cases) {
      const r = await call('POST', reg, t, body);
      assert.equal(r.status, status, JSON.stringify(body) + ' → ' + JSON.stringify(r.json));
      for (const [k, v] of Object.entries(expected)) assert.equal(r.json[k], v, `${JSON.stringify(body)} → ${k}`);
      if (status === 201) assert.equal(r.json.disabled, false, 'a registering client cannot set server-managed flags');
    }
    const form = await call('POST', reg, t, 'client_name=x', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 400);
    assert.deepEqual(form.json, { error: 'invalid_request', error_description: 'the request body must be a JSON object sent as application/json' });
  });

  it('an expired initial access token → 401', async () => {
    const c = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a', audience: [AUD], ttl: 60 } });
    const rec = await srv.services.store.getRegistrationToken(c.json.id);
    await srv.services.store.deleteRegistrationToken(c.json.id);
    await srv.services.store.insertRegistrationToken({ ...rec!, expires_at: Date.now() - 1 });
    const r = await call('POST', reg, c.json.token, { client_name: 'late' });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: 'invalid_token', error_description: 'the initial access token is not valid' });
    const l = await api(srv, 'GET', '/registration-tokens', { token: admin });
    assert.equal(l.json.registration_tokens.find((x: any) => x.id === c.json.id).expired, true);
  });

  it('initial access token missing, unknown, expired-by-deletion or an admin JWT → 401 with a Bearer challenge', async () => {
    const none = await call('POST', reg, undefined, { client_name: 'x' });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="latchkey-registration"');
    assert.equal(none.json.error, 'invalid_token');
    const bogus = await call('POST', reg, 'lki_' + 'A'.repeat(43), { client_name: 'x' });
    assert.equal(bogus.status, 401);
    assert.deepEqual(bogus.json, { error: 'invalid_token', error_description: 'the initial access token is not valid' });
    assert.equal(bogus.headers.get('www-authenticate'), 'Bearer realm="latchkey-registration", error="invalid_token", error_description="the initial access token is not valid"');
    assert.equal((await call('POST', reg, admin, { client_name: 'x' })).status, 401, 'an admin access token is not an initial access token');
    const c = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a', audience: [AUD] } });
    assert.equal((await api(srv, 'DELETE', `/registration-tokens/${c.json.id}`, { token: admin })).status, 204);
    assert.equal((await call('POST', reg, c.json.token, { client_name: 'x' })).status, 401, 'deleted tokens stop working');
    const get = await fetch(reg);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  it('RFC 7592: read, replace (omitted fields reset), client_id and client_secret checks, delete', async () => {
    const t = await iat({ scope: 'a b c' });
    const created = (await call('POST', reg, t, { client_name: 'managed', scope: 'a b', default_scope: 'a', access_token_ttl: 300, dpop_bound_access_tokens: true })).json;
    const uri = created.registration_client_uri;
    let rat = created.registration_access_token;

    const read = await call('GET', uri, rat);
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('cache-control'), 'no-store');
    const { client_secret, ...withoutSecret } = created;
    assert.equal(client_secret.startsWith('lk_'), true);
    assert.deepEqual(read.json, withoutSecret, 'read returns the registration minus the secret (stored hashed only)');

    // Round-trip the read document with changes, as client libraries do.
    const put = await call('PUT', uri, rat, { ...read.json, client_name: 'managed v2', scope: 'a c', default_scope: undefined, access_token_ttl: undefined, dpop_bound_access_tokens: undefined });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.equal(put.json.client_name, 'managed v2');
    assert.equal(put.json.scope, 'a c');
    assert.equal(put.json.default_scope, null, 'omitted → reset (RFC 7592 §2.2)');
    assert.equal(put.json.access_token_ttl, null);
    assert.equal(put.json.dpop_bound_access_tokens, undefined);
    // SPEC §7 / RFC 7592 §3: every successful update issues a new registration access token; the old one stops working.
    assert.match(put.json.registration_access_token, /^lkr_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(put.json.registration_access_token, rat);
    assert.equal((await call('GET', uri, rat)).status, 401, 'the previous registration access token is dead');
    rat = put.json.registration_access_token;

    const noId = await call('PUT', uri, rat, { client_name: 'x' });
    assert.deepEqual(noId.json, { error: 'invalid_client_metadata', error_description: 'client_id: must be present and equal to the registered client_id', field: 'client_id' });
    const wrongSecret = await call('PUT', uri, rat, { client_id: created.client_id, client_secret: 'lk_wrong' });
    assert.equal(wrongSecret.status, 400);
    assert.equal(wrongSecret.json.field, 'client_secret');
    assert.equal((await call('GET', uri, rat)).status, 200, 'refused updates keep the token');
    const rightSecret = await call('PUT', uri, rat, { client_id: created.client_id, client_secret: created.client_secret, client_name: 'v3', scope: 'b' });
    assert.equal(rightSecret.status, 200);
    assert.equal(rightSecret.json.scope, 'b');
    rat = rightSecret.json.registration_access_token;
    const overCap = await call('PUT', uri, rat, { client_id: created.client_id, scope: 'a z' });
    assert.equal(overCap.status, 400, 'the initial access token cap still applies on update');
    assert.equal(overCap.json.field, 'scope');
    const methodChange = await call('PUT', uri, rat, { client_id: created.client_id, token_endpoint_auth_method: 'client_secret_post' });
    assert.equal(methodChange.json.field, 'token_endpoint_auth_method');

    // Another client's token, the initial access token, or none: 401 — and an unknown id is 401, not 404.
    const other = (await call('POST', reg, t, { client_name: 'other' })).json;
    for (const [u, tok] of [
      [uri, other.registration_access_token],
      [uri, t],
      [`${reg}/no-such-client`, rat],
    ] as const) {
      const r = await call('GET', u, tok);
      assert.equal(r.status, 401, u);
      assert.deepEqual(r.json, { error: 'invalid_token', error_description: 'the registration access token is not valid' });
    }
    assert.equal((await call('GET', uri, undefined)).headers.get('www-authenticate'), 'Bearer realm="latchkey-registration"');
    // Admin-created clients have no registration access token: not manageable through RFC 7592.
    const adminMade = await srv.createClient({ client_name: 'admin-made' });
    assert.equal((await call('GET', `${reg}/${adminMade.client_id}`, rat)).status, 401);

    const del = await call('DELETE', uri, rat);
    assert.equal(del.status, 204);
    assert.equal((await call('GET', uri, rat)).status, 401, 'RFC 7592 §2.3: the token is invalidated with the client');
    assert.equal((await api(srv, 'GET', `/clients/${created.client_id}`, { token: admin })).status, 404);
    await srv.sync();
    const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(created.client_id, created.client_secret) });
    assert.equal(tok.status, 401);
    const audit = (await api(srv, 'GET', `/audit?client=${created.client_id}`, { token: admin })).json.records;
    assert.deepEqual(audit.map((r: any) => [r.action, r.actor.split(':')[0]]), [
      ['client.delete', 'client'],
      ['client.update', 'client'],
      ['client.update', 'client'],
      ['client.create', 'registration'],
    ]);
  });
});
}
