import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, startTestServer, type TestServer } from '../helpers/harness.js';

/** The node:http fast path and the Fastify route answer the token endpoint identically. */
describe('token endpoint: fast path and Fastify path are equivalent', () => {
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
  ];

  for (const [name, make] of cases) {
    it(name, async () => {
      const results = [];
      for (const s of [fast, slow]) {
        const [path, init] = make(s);
        const r = await fetch(s.url + path, init);
        const body = await r.json();
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
