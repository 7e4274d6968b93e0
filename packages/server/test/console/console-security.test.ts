/** The console's server side without a browser: static files + CSP, session cookie, CSRF, Origin checks. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, readJson, startTestServer, type TestServer } from '../helpers/harness.js';
import { ensureConsoleBuilt } from './console-helpers.js';
import { CONSOLE_CSP } from '../../src/console/console-routes.js';

async function req(srv: TestServer, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(srv.url + path, { method, headers, ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}), redirect: 'manual' });
  const { text, json } = await readJson(res);
  return { status: res.status, headers: res.headers, text, json };
}

async function signIn(srv: TestServer, id = srv.admin.client_id, secret = srv.admin.client_secret) {
  const r = await req(srv, 'POST', '/console/api/session', { body: { client_id: id, client_secret: secret } });
  assert.equal(r.status, 201, r.text);
  const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: r.json.csrf_token as string, setCookie: r.headers.get('set-cookie')!, body: r.json };
}

describe('console server side (CSP, session, CSRF)', () => {
  let srv: TestServer;
  before(async () => {
    ensureConsoleBuilt();
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('GET / serves the built console with a strict CSP and no inline script or style', async () => {
    const r = await req(srv, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /default-src 'self'/);
    assert.match(CONSOLE_CSP, /script-src 'self';/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.doesNotMatch(r.text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline <script>');
    assert.doesNotMatch(r.text, /\sstyle=|<style/, 'no inline styles');
    const scripts = [...r.text.matchAll(/src="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1);
    const js = await req(srv, 'GET', scripts[0]!);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await req(srv, 'GET', '/assets/nope.js')).status, 404);
    assert.equal((await req(srv, 'GET', '/assets/..%2Fpackage.json')).status, 404);
  });

  it('sign-in: field errors, wrong secret (same answer as the token endpoint), non-admin clients refused', async () => {
    const missing = await req(srv, 'POST', '/console/api/session', { body: { client_id: srv.admin.client_id } });
    assert.deepEqual(missing.json, { error: 'invalid_request', error_description: 'client_id and client_secret are required (JSON)', field: 'client_secret' });
    const wrong = await req(srv, 'POST', '/console/api/session', { body: { client_id: srv.admin.client_id, client_secret: 'lk_nope' } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, { error: 'invalid_client', error_description: 'client authentication failed' });
    assert.equal(wrong.headers.get('set-cookie'), null);
    const unknown = await req(srv, 'POST', '/console/api/session', { body: { client_id: 'nobody-here', client_secret: 'lk_nope' } });
    assert.deepEqual(unknown.json, wrong.json);
    const plain = await srv.createClient({ client_name: 'plain', scope: 'a' });
    const notAdmin = await req(srv, 'POST', '/console/api/session', { body: { client_id: plain.client_id, client_secret: plain.client_secret } });
    assert.equal(notAdmin.status, 403);
    assert.deepEqual(notAdmin.json, { error: 'access_denied', error_description: 'this client is not allowed the latchkey:admin scope' });
    const elsewhere = await srv.createClient({ client_name: 'elsewhere', scope: 'latchkey:admin', audience: ['https://api.example.com'] });
    const wrongAud = await req(srv, 'POST', '/console/api/session', { body: { client_id: elsewhere.client_id, client_secret: elsewhere.client_secret } });
    assert.equal(wrongAud.status, 403);
    assert.match(wrongAud.json.error_description, /do not open the admin API/);
    const postAdmin = await srv.createClient({ client_name: 'post admin', scope: 'latchkey:admin', audience: [srv.issuer], token_endpoint_auth_method: 'client_secret_post' });
    await signIn(srv, postAdmin.client_id, postAdmin.client_secret);
  });

  it('failed sign-ins are audited with the claimed id and the reason, never the secret', async () => {
    const since = Date.now();
    const wrongSecret = 'lk_' + 'W'.repeat(43);
    await req(srv, 'POST', '/console/api/session', { body: { client_id: srv.admin.client_id, client_secret: wrongSecret } });
    await req(srv, 'POST', '/console/api/session', { body: { client_id: 'claimed-nobody', client_secret: wrongSecret } });
    const plain = await srv.createClient({ client_name: 'plain too', scope: 'a' });
    await req(srv, 'POST', '/console/api/session', { body: { client_id: plain.client_id, client_secret: plain.client_secret } });
    const elsewhere = await srv.createClient({ client_name: 'elsewhere too', scope: 'latchkey:admin', audience: ['https://api.example.com'] });
    await req(srv, 'POST', '/console/api/session', { body: { client_id: elsewhere.client_id, client_secret: elsewhere.client_secret } });
    const failed = (await srv.services.store.queryAudit({ since, limit: 100 })).filter((r) => r.action === 'console.signin_failed').reverse();
    assert.deepEqual(
      failed.map((r) => [r.actor, r.target, (r.after as { reason: string }).reason]),
      [
        [`console:${srv.admin.client_id}`, srv.admin.client_id, 'invalid_client'],
        ['console:claimed-nobody', 'claimed-nobody', 'invalid_client'],
        [`console:${plain.client_id}`, plain.client_id, 'not_admin'],
        [`console:${elsewhere.client_id}`, elsewhere.client_id, 'token_not_admin'],
      ],
    );
    const all = JSON.stringify(failed);
    for (const secret of [wrongSecret, plain.client_secret, elsewhere.client_secret]) assert.ok(secret && !all.includes(secret), 'no secret in the audit log');
    assert.ok(failed.every((r) => typeof (r.after as { remote_address?: unknown }).remote_address === 'string'));
    // Through the admin API's client filter, as the console's audit screen reads it.
    const s = await signIn(srv);
    const viaConsole = await req(srv, 'GET', `/console/api/admin/audit?client=claimed-nobody`, { headers: { cookie: s.cookie } });
    assert.deepEqual(
      viaConsole.json.records.map((r: { action: string }) => r.action),
      ['console.signin_failed'],
    );
  });

  it('login CSRF: a cross-site sign-in is refused by Origin or Sec-Fetch-Site', async () => {
    const body = { client_id: srv.admin.client_id, client_secret: srv.admin.client_secret };
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }] as Record<string, string>[]) {
      const r = await req(srv, 'POST', '/console/api/session', { body, headers });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.deepEqual(r.json, { error: 'access_denied', error_description: 'cross-site request refused' });
    }
    const same = await req(srv, 'POST', '/console/api/session', { body, headers: { origin: srv.url, 'sec-fetch-site': 'same-origin' } });
    assert.equal(same.status, 201);
  });

  it('the session cookie is HttpOnly, SameSite=Strict, Path=/; the browser never receives the access token', async () => {
    const s = await signIn(srv);
    assert.match(s.setCookie, /^lk_console=v1\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.doesNotMatch(s.setCookie, /eyJ/, 'the token inside is encrypted, not just encoded');
    assert.ok(s.setCookie.length < 4096, 'fits a cookie');
    assert.deepEqual(Object.keys(s.body).sort(), ['client_id', 'csrf_token', 'expires_at']);
    const me = await req(srv, 'GET', '/console/api/session', { headers: { cookie: s.cookie } });
    assert.equal(me.status, 200);
    assert.deepEqual(Object.keys(me.json).sort(), ['client_id', 'csrf_token', 'expires_at', 'issuer']);
    assert.doesNotMatch(me.text, /eyJ/, 'no JWT in any console response');
  });

  it('admin calls through the session: reads need the cookie; writes also need the CSRF token and a same-origin request', async () => {
    const s = await signIn(srv);
    assert.deepEqual((await req(srv, 'GET', '/console/api/admin/clients')).json, { error: 'login_required', error_description: 'sign in to the console' });
    const list = await req(srv, 'GET', '/console/api/admin/clients?limit=1', { headers: { cookie: s.cookie } });
    assert.equal(list.status, 200);
    assert.equal(list.json.limit, 1);
    assert.equal(list.headers.get('cache-control'), 'no-store');
    const body = { client_name: 'via console' };
    const noCsrf = await req(srv, 'POST', '/console/api/admin/clients', { body, headers: { cookie: s.cookie } });
    assert.equal(noCsrf.status, 403);
    assert.deepEqual(noCsrf.json, { error: 'access_denied', error_description: 'missing or wrong CSRF token' });
    const badCsrf = await req(srv, 'POST', '/console/api/admin/clients', { body, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf.slice(0, -1) + 'x' } });
    assert.equal(badCsrf.status, 403);
    const crossSite = await req(srv, 'POST', '/console/api/admin/clients', { body, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    const ok = await req(srv, 'POST', '/console/api/admin/clients', { body, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('location'), `/admin/v1/clients/${ok.json.client_id}`);
    const invalid = await req(srv, 'PATCH', `/console/api/admin/clients/${ok.json.client_id}`, { body: { scope: 'a"' }, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.deepEqual(invalid.json, { error: 'invalid_client_metadata', error_description: 'scope: must be space-separated scope tokens (RFC 6749 §3.3)', field: 'scope' });
    // The session's token is only ever forwarded to /admin/v1.
    for (const p of ['/console/api/admin/../../oauth2/introspect', '/console/api/admin/%2e%2e/%2e%2e/metrics', '/console/api/admin//clients', '/console/api/admin/clients%2F..']) {
      const r = await fetch(srv.url + p, { headers: { cookie: s.cookie } });
      assert.ok(r.status === 400 || r.status === 404, `${p} → ${r.status}`);
      if (r.status === 400) assert.deepEqual(await r.json(), { error: 'invalid_request', error_description: 'malformed admin path' });
    }
    // Another session's CSRF token does not work with this cookie.
    const other = await signIn(srv);
    assert.equal((await req(srv, 'POST', '/console/api/admin/clients', { body, headers: { cookie: s.cookie, 'x-csrf-token': other.csrf } })).status, 403);
  });

  it('a tampered, foreign or garbage cookie is no session', async () => {
    const s = await signIn(srv);
    const value = s.cookie.slice('lk_console='.length);
    const flipped = value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21);
    for (const v of [flipped, 'v1.AAAA', 'garbage', value + 'x']) {
      const r = await req(srv, 'GET', '/console/api/session', { headers: { cookie: `lk_console=${v}` } });
      assert.equal(r.status, 401, v.slice(0, 30));
      assert.deepEqual(r.json, { error: 'login_required', error_description: 'sign in to the console' });
    }
    // Sealed under another server's key-encryption key: refused.
    const other = await startTestServer();
    try {
      const o = await signIn(other);
      assert.equal((await req(srv, 'GET', '/console/api/session', { headers: { cookie: o.cookie } })).status, 401);
    } finally {
      await other.close();
    }
  });

  it('sign-out needs the CSRF token, clears the cookie and ends the session server-side', async () => {
    const s = await signIn(srv);
    assert.equal((await req(srv, 'DELETE', '/console/api/session', { headers: { cookie: s.cookie } })).status, 403);
    const out = await req(srv, 'DELETE', '/console/api/session', { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /^lk_console=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    assert.equal((await req(srv, 'GET', '/console/api/session', { headers: { cookie: s.cookie } })).status, 401);
    assert.equal((await req(srv, 'GET', '/console/api/admin/keys', { headers: { cookie: s.cookie } })).status, 401, 'a replayed cookie is dead: its token was revoked');
    const recs = (await srv.services.store.queryAudit({ target: srv.admin.client_id, limit: 2 })).map((r) => [r.action, r.actor]);
    assert.deepEqual(recs, [
      ['console.sign_out', `console:${srv.admin.client_id}`],
      ['console.sign_in', `console:${srv.admin.client_id}`],
    ]);
  });

  it('the demo protected API needs a session, then checks the Bearer token', async () => {
    assert.equal((await req(srv, 'GET', '/console/api/try/resource', { headers: { authorization: 'Bearer x' } })).status, 401);
    const s = await signIn(srv);
    const none = await req(srv, 'GET', '/console/api/try/resource', { headers: { cookie: s.cookie } });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="latchkey-demo"');
    const bad = await req(srv, 'GET', '/console/api/try/resource', { headers: { cookie: s.cookie, authorization: 'Bearer abc.def.ghi' } });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, { error: 'invalid_token', error_description: 'the access token is not valid' });
  });
});

describe('console behind https (issuer https://…)', () => {
  let srv: TestServer;
  before(async () => {
    ensureConsoleBuilt();
    const port = await freePort();
    srv = await startTestServer({ config: { port, issuer: `https://127.0.0.1:${port}` } });
  });
  after(() => srv.close());

  it('the session cookie is __Host- prefixed and Secure', async () => {
    const r = await req(srv, 'POST', '/console/api/session', { body: { client_id: srv.admin.client_id, client_secret: srv.admin.client_secret } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('set-cookie')!, /^__Host-lk_console=v1\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    // Origin must be the https issuer's origin, not the plain-http address the test happens to use.
    const cross = await req(srv, 'POST', '/console/api/session', { body: { client_id: 'x', client_secret: 'y' }, headers: { origin: srv.url } });
    assert.equal(cross.status, 403);
  });
});

describe('console sessions across nodes / workers sharing the store and the KEK', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    ensureConsoleBuilt();
    a = await startTestServer();
    b = await startTestServer({ db: a.db, dataDir: a.dataDir, config: { issuer: a.issuer } });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('a session made on node A works on node B; signing out on A ends it on B', async () => {
    const s = await signIn(a);
    const atB = await req(b, 'GET', '/console/api/admin/clients?limit=1', { headers: { cookie: s.cookie } });
    assert.equal(atB.status, 200, 'no sticky sessions needed');
    const created = await req(b, 'POST', '/console/api/admin/clients', { body: { client_name: 'from node B' }, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(created.status, 201);
    assert.equal((await req(a, 'DELETE', '/console/api/session', { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } })).status, 204);
    await b.sync();
    assert.equal((await req(b, 'GET', '/console/api/session', { headers: { cookie: s.cookie } })).status, 401, 'revocation reached node B');
  });
});
