import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, startTestServer, type TestServer } from '../helpers/harness.js';

/** The node:http fast path and the Fastify routes answer the token, introspection and revocation endpoints identically. */
describe('OAuth endpoints: fast path and Fastify path are equivalent', () => {
  let fast: TestServer;
  let slow: TestServer;
  const clients = new Map<TestServer, { client_id: string; client_secret: string }>();

  before(async () => {
    fast = await startTestServer({ config: { trustProxy: '127.0.0.1', rateLimitFailures: 3 } });
    process.env.LATCHKEY_NO_FAST_PATH = '1';
    try {
      slow = await startTestServer({ config: { trustProxy: '127.0.0.1', rateLimitFailures: 3 } });
    } finally {
      delete process.env.LATCHKEY_NO_FAST_PATH;
    }
    for (const s of [fast, slow]) clients.set(s, (await s.createClient({ client_id: 'same-id', scope: 'a b' })) as { client_id: string; client_secret: string });
  });
  after(async () => {
    await fast?.close();
    await slow?.close();
  });

  const cases: [string, (s: TestServer) => [string, RequestInit]][] = [
    ['success', (s) => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('same-id', clients.get(s)!.client_secret) }, body: 'grant_type=client_credentials&scope=a' }]],
    ['query string on the path', (s) => ['/oauth2/token?x=1', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('same-id', clients.get(s)!.client_secret) }, body: 'grant_type=client_credentials' }]],
    ['wrong secret', () => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('same-id', 'lk_nope') }, body: 'grant_type=client_credentials' }]],
    ['json body', () => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' }]],
    ['malformed json body', () => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }]],
    ['no body', () => ['/oauth2/token', { method: 'POST' }]],
    ['body over 64 KiB', () => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=' + 'a'.repeat(70_000) }]],
    ['GET', () => ['/oauth2/token', { method: 'GET' }]],
    // Each case from its own client address (trusted X-Forwarded-For), so the failures of one case do not
    // spend the brute-force budget (3 here) of the next.
    ...(['/oauth2/introspect', '/oauth2/revoke'] as const).flatMap((path, p): [string, (s: TestServer) => [string, RequestInit]][] => {
      const form = (i: number, extra: Record<string, string> = {}) => ({ 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `192.0.2.${p * 10 + i}`, ...extra });
      return [
        [`${path}: unknown token`, (s) => [path, { method: 'POST', headers: form(1, { authorization: basic('same-id', clients.get(s)!.client_secret) }), body: 'token=nope' }]],
        [`${path}: query string, no token`, (s) => [`${path}?x=1`, { method: 'POST', headers: form(2, { authorization: basic('same-id', clients.get(s)!.client_secret) }), body: '' }]],
        [`${path}: wrong secret`, () => [path, { method: 'POST', headers: form(3, { authorization: basic('same-id', 'lk_nope') }), body: 'token=x' }]],
        [`${path}: json body`, () => [path, { method: 'POST', headers: { ...form(4), 'content-type': 'application/json' }, body: '{"token":"x"}' }]],
        [`${path}: body over 64 KiB`, () => [path, { method: 'POST', headers: form(5), body: 'token=' + 'a'.repeat(70_000) }]],
        [`${path}: GET`, () => [path, { method: 'GET', headers: { 'x-forwarded-for': `192.0.2.${p * 10 + 6}` } }]],
      ];
    }),
  ];

  for (const [name, make] of cases) {
    it(name, async () => {
      const results = [];
      for (const s of [fast, slow]) {
        const [path, init] = make(s);
        const r = await fetch(s.url + path, init);
        const text = await r.text();
        const body = text === '' ? '' : JSON.parse(text);
        if (body.access_token) body.access_token = typeof body.access_token;
        results.push({
          status: r.status,
          body,
          headers: ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'allow', 'retry-after'].map((h) => [h, r.headers.get(h)?.replace(/realm="[^"]*"/, 'realm')]),
        });
      }
      assert.deepEqual(results[0], results[1]);
    });
  }

  it('introspection of a live token, then revocation, then introspection again: same answers on both paths', async () => {
    const results = [];
    for (const s of [fast, slow]) {
      const auth = { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '192.0.2.99', authorization: basic('same-id', clients.get(s)!.client_secret) };
      const tok = await (await fetch(`${s.url}/oauth2/token`, { method: 'POST', headers: auth, body: 'grant_type=client_credentials&scope=a' })).json();
      const intro = async () => {
        const r = await fetch(`${s.url}/oauth2/introspect`, { method: 'POST', headers: auth, body: `token=${tok.access_token}` });
        const b = await r.json();
        return { status: r.status, active: b.active, scope: b.scope, client_id: b.client_id, cache: r.headers.get('cache-control') };
      };
      const before = await intro();
      const rev = await fetch(`${s.url}/oauth2/revoke`, { method: 'POST', headers: auth, body: `token=${tok.access_token}` });
      results.push({ before, revoke: [rev.status, await rev.text()], after: await intro() });
    }
    assert.deepEqual(results[0], results[1]);
    assert.deepEqual(results[0]!.before, { status: 200, active: true, scope: 'a', client_id: 'same-id', cache: 'no-store' });
    assert.equal(results[0]!.after.active, false);
  });

  it('X-Forwarded-For from a trusted proxy keys the rate limits by the client address on both paths', async () => {
    for (const s of [fast, slow]) {
      const send = (from: string) =>
        fetch(`${s.url}/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('same-id', 'lk_bad'), 'x-forwarded-for': `198.51.100.1, ${from}` },
          body: 'grant_type=client_credentials',
        });
      const st = [];
      for (let i = 0; i < 4; i++) st.push((await send('203.0.113.1')).status);
      assert.deepEqual(st, [401, 401, 401, 429]);
      assert.equal((await send('203.0.113.2')).status, 401, 'another client address is not blocked');
    }
  });
});
