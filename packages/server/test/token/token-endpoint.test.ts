import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';

const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };

describe('token endpoint (SPEC §3, RFC 6749 §4.4)', () => {
  let srv: TestServer;
  let token: string;
  let basicClient: { client_id: string; client_secret: string };
  let postClient: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer();
    token = `${srv.url}/oauth2/token`;
    basicClient = (await srv.createClient({
      client_name: 'orders',
      scope: 'orders:read orders:write',
      audience: ['https://api.example.com', 'https://other.example.com'],
      access_token_ttl: 120,
    })) as { client_id: string; client_secret: string };
    postClient = (await srv.createClient({
      client_name: 'post',
      scope: 'a b c',
      default_scope: 'a',
      token_endpoint_auth_method: 'client_secret_post',
    })) as { client_id: string; client_secret: string };
  });
  after(() => srv.close());

  const cc = { grant_type: 'client_credentials' };
  const auth = () => ({ authorization: basic(basicClient.client_id, basicClient.client_secret) });

  it('issues an RFC 9068 JWT with client_secret_basic, no-store headers and the full response shape', async () => {
    const r = await postForm(token, cc, auth());
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('pragma'), 'no-cache');
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, 120);
    assert.equal(r.json.scope, 'orders:read orders:write');
    const h = decodeProtectedHeader(r.json.access_token);
    assert.equal(h.typ, 'at+jwt');
    assert.equal(h.alg, 'ES256');
    assert.ok(h.kid);
    const c = decodeJwt(r.json.access_token);
    assert.equal(c.iss, srv.issuer);
    assert.equal(c.sub, basicClient.client_id);
    assert.equal(c.client_id, basicClient.client_id);
    assert.equal(c.aud, 'https://api.example.com', 'first audience entry is the default');
    assert.equal(c.scope, 'orders:read orders:write');
    assert.equal((c.exp as number) - (c.iat as number), 120, 'per-client lifetime');
    assert.match(c.jti as string, /^[A-Za-z0-9_-]{22}$/);
  });

  it('client_secret_post works, default_scope applies when no scope is asked', async () => {
    const r = await postForm(token, { ...cc, client_id: postClient.client_id, client_secret: postClient.client_secret });
    assert.equal(r.status, 200);
    assert.equal(r.json.scope, 'a');
    assert.equal(decodeJwt(r.json.access_token).aud, srv.issuer, 'empty audience list → server default audience');
    assert.equal(r.json.expires_in, 3600, 'default lifetime');
  });

  it('Basic credentials are form-url-decoded after base64 (RFC 6749 §2.3.1)', async () => {
    const c = (await srv.createClient({ client_id: 'svc:with.colon', scope: 'x' })) as { client_id: string; client_secret: string };
    const ok = await postForm(token, cc, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(ok.status, 200);
    // Not encoded: the id's colon splits the credentials in the wrong place → no such client.
    const raw = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
    const bad = await postForm(token, cc, { authorization: raw });
    assert.equal(bad.status, 401);
  });

  it('the registered method is the only one accepted', async () => {
    const viaPost = await postForm(token, { ...cc, client_id: basicClient.client_id, client_secret: basicClient.client_secret });
    assert.equal(viaPost.status, 401);
    assert.deepEqual(viaPost.json, INVALID_CLIENT);
    const viaBasic = await postForm(token, cc, { authorization: basic(postClient.client_id, postClient.client_secret) });
    assert.equal(viaBasic.status, 401);
    assert.deepEqual(viaBasic.json, INVALID_CLIENT);
  });

  it('two authentication methods in one request → 400 invalid_request', async () => {
    const r = await postForm(token, { ...cc, client_id: basicClient.client_id, client_secret: basicClient.client_secret }, auth());
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
  });

  it('unknown client and wrong secret: identical 401 body, Basic challenge', async () => {
    const wrong = await postForm(token, cc, { authorization: basic(basicClient.client_id, basicClient.client_secret + 'x') });
    const unknown = await postForm(token, cc, { authorization: basic('no-such-client', basicClient.client_secret) });
    for (const r of [wrong, unknown]) {
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, INVALID_CLIENT);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    assert.equal(wrong.text, unknown.text);
  });

  it('a secret differing only at byte 73 or later is refused (no bcrypt truncation)', async () => {
    const long = basicClient.client_secret.padEnd(80, 'A');
    const r1 = await postForm(token, cc, { authorization: basic(basicClient.client_id, long) });
    assert.equal(r1.status, 401);
    const flipped = basicClient.client_secret.slice(0, -1) + (basicClient.client_secret.endsWith('A') ? 'B' : 'A');
    const r2 = await postForm(token, cc, { authorization: basic(basicClient.client_id, flipped) });
    assert.equal(r2.status, 401);
  });

  it('no credentials → 401 invalid_client', async () => {
    const r = await postForm(token, cc);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, INVALID_CLIENT);
  });

  it('a parameter given twice → 400 invalid_request; resource may repeat', async () => {
    const dup = await postForm(token, 'grant_type=client_credentials&scope=orders:read&scope=orders:write', auth());
    assert.equal(dup.status, 400);
    assert.equal(dup.json.error, 'invalid_request');
    const dupGrant = await postForm(token, 'grant_type=client_credentials&grant_type=client_credentials', auth());
    assert.equal(dupGrant.status, 400);
    const res = await postForm(token, { ...cc, resource: ['https://api.example.com', 'https://other.example.com'] }, auth());
    assert.equal(res.status, 200);
    assert.deepEqual(decodeJwt(res.json.access_token).aud, ['https://api.example.com', 'https://other.example.com']);
  });

  it('empty parameters count as omitted; unknown parameters are ignored', async () => {
    const r = await postForm(token, 'grant_type=client_credentials&scope=&foo=bar&resource=', auth());
    assert.equal(r.status, 200);
    assert.equal(r.json.scope, 'orders:read orders:write');
  });

  it('non-form bodies → 400 invalid_request (JSON, text, none)', async () => {
    for (const [ct, body] of [
      ['application/json', '{"grant_type":"client_credentials"}'],
      ['text/plain', 'grant_type=client_credentials'],
      ['multipart/form-data; boundary=x', '--x\r\n'],
    ] as const) {
      const res = await fetch(token, { method: 'POST', headers: { 'content-type': ct, ...auth() }, body });
      assert.equal(res.status, 400, ct);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
    }
    const none = await fetch(token, { method: 'POST', headers: auth() });
    assert.equal(none.status, 400);
  });

  it('GET/PUT/DELETE/PATCH/HEAD → 405 with Allow: POST, never a token', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD']) {
      const res = await fetch(token, { method, headers: auth() });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
      const text = await res.text();
      assert.ok(!text.includes('access_token'));
    }
  });

  it('missing grant_type → invalid_request; other grant types → unsupported_grant_type', async () => {
    const none = await postForm(token, { scope: 'orders:read' }, auth());
    assert.equal(none.status, 400);
    assert.equal(none.json.error, 'invalid_request');
    for (const g of ['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
      const r = await postForm(token, { grant_type: g }, auth());
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { error: 'unsupported_grant_type', error_description: 'only client_credentials is supported' });
    }
  });

  it('a client without the client_credentials grant → 400 unauthorized_client', async () => {
    const c = (await srv.createClient({ client_name: 'nogrant', scope: 'x', grant_types: [] })) as { client_id: string; client_secret: string };
    const r = await postForm(token, cc, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'unauthorized_client');
  });

  it('scope must be a subset: invalid_scope, never narrowed silently', async () => {
    const sub = await postForm(token, { ...cc, scope: 'orders:read' }, auth());
    assert.equal(sub.status, 200);
    assert.equal(sub.json.scope, 'orders:read');
    const over = await postForm(token, { ...cc, scope: 'orders:read admin' }, auth());
    assert.equal(over.status, 400);
    assert.equal(over.json.error, 'invalid_scope');
    const malformed = await postForm(token, { ...cc, scope: 'orders:read "quoted"' }, auth());
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error, 'invalid_scope');
  });

  it('a scope with 100,000 entries → 400 (quickly, no 5xx)', async () => {
    const scope = Array.from({ length: 100_000 }, (_, i) => `s${i % 10}`).join(' ');
    const r = await postForm(token, { ...cc, scope }, auth());
    assert.ok(r.status === 400 || r.status === 413, `status ${r.status}`);
    assert.equal(r.json.error, r.status === 413 ? 'invalid_request' : 'invalid_scope');
    const small = Array.from({ length: 20_000 }, () => 'x').join(' ');
    const r2 = await postForm(token, { ...cc, scope: small }, auth());
    assert.equal(r2.status, 400);
    assert.equal(r2.json.error, 'invalid_scope');
  });

  it('resource: invalid_target when not allowed, relative, or with a fragment (RFC 8707)', async () => {
    for (const resource of ['https://evil.example.com', 'api.example.com', '/relative', 'https://api.example.com#frag']) {
      const r = await postForm(token, { ...cc, resource }, auth());
      assert.equal(r.status, 400, resource);
      assert.equal(r.json.error, 'invalid_target', resource);
    }
    const ok = await postForm(token, { ...cc, resource: 'https://other.example.com' }, auth());
    assert.equal(ok.status, 200);
    assert.equal(decodeJwt(ok.json.access_token).aud, 'https://other.example.com');
  });

  it('a client with no audience list may only ask for the default audience', async () => {
    const ok = await postForm(token, { ...cc, client_id: postClient.client_id, client_secret: postClient.client_secret, resource: srv.issuer });
    assert.equal(ok.status, 200);
    const bad = await postForm(token, { ...cc, client_id: postClient.client_id, client_secret: postClient.client_secret, resource: 'https://x.example' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_target');
  });

  it('a body client_id that differs from the Basic client → invalid_request', async () => {
    const r = await postForm(token, { ...cc, client_id: postClient.client_id }, auth());
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    const same = await postForm(token, { ...cc, client_id: basicClient.client_id }, auth());
    assert.equal(same.status, 200);
  });

  it('a disabled client is refused like an unknown one', async () => {
    const c = (await srv.createClient({ client_name: 'to-disable', scope: 'x' })) as { client_id: string; client_secret: string };
    await srv.services.store.updateClient(c.client_id, { disabled: true });
    await srv.sync();
    const r = await postForm(token, cc, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, INVALID_CLIENT);
  });

  it('malformed Authorization headers and percent-encoding → 4xx, never 5xx', async () => {
    for (const a of ['Basic', 'Basic !!!', 'Basic ' + Buffer.from('nocolon').toString('base64'), 'Bearer abc', 'Basic ' + Buffer.from('%zz:%zz').toString('base64')]) {
      const r = await postForm(token, cc, { authorization: a });
      assert.equal(r.status, 401, a);
      assert.equal(r.json.error, 'invalid_client');
    }
    const r = await postForm(token, 'grant_type=client_credentials&scope=%E0%A4%A', auth());
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
  });

  it('body over 64 KiB → 413; headers over 16 KiB → 431', async () => {
    const big = await postForm(token, { ...cc, pad: 'x'.repeat(70 * 1024) }, auth());
    assert.equal(big.status, 413);
    assert.equal(big.json.error, 'invalid_request');
    const res = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-big': 'y'.repeat(17 * 1024) }, body: 'grant_type=client_credentials' }).catch((e) => e);
    assert.equal((res as Response).status, 431);
  });
});
