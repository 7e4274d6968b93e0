// Caching, refresh-ahead and stale-on-error behaviour of TokenClient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { LatchkeyClientError, TokenClient, type AccessToken, type TokenClientEvent } from '../src/index.js';
import { startOidcProvider } from './helpers/oidc-provider.js';
import { startScriptedAs } from './helpers/scripted-as.js';

const auth = { method: 'client_secret_basic', clientId: 'svc', clientSecret: 'secret' } as const;
const LOOP_MS = Number(process.env.LATCHKEY_CLIENT_LOOP_MS ?? 30_000);

test(`refresh-ahead with 2 s tokens: no caller receives an expired token in a ${LOOP_MS / 1000} s loop`, async (t) => {
  const op = await startOidcProvider({ ttl: 2 });
  t.after(() => op.close());
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({
    issuer: op.issuer,
    auth: { method: 'client_secret_basic', clientId: op.clients.basic.id, clientSecret: op.clients.basic.secret },
    scope: 'read',
    onEvent: (e) => events.push(e),
  });
  const deadline = Date.now() + LOOP_MS;
  let calls = 0;
  const distinct = new Set<string>();
  const worker = async () => {
    while (Date.now() < deadline) {
      const token = await client.getToken();
      const now = Date.now();
      // The server's own expiry (JWT exp, whole seconds) must still be in the future when we get it.
      const exp = decodeJwt(token.accessToken).exp! * 1000;
      assert.ok(exp > now, `token expired ${now - exp} ms before it was handed out`);
      // Our own estimate is conservative: it never claims more life than the server gave.
      assert.ok(token.expiresAt <= exp, `expiresAt ${token.expiresAt - exp} ms after the server's exp`);
      distinct.add(token.accessToken);
      calls += 1;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  const fetched = events.filter((e) => e.type === 'token_fetched');
  // The loop spans many token lifetimes, and most renewals happened ahead of expiry, off the hot path.
  assert.ok(distinct.size >= Math.floor(LOOP_MS / 2000), `only ${distinct.size} tokens`);
  assert.ok(fetched.filter((e) => e.type === 'token_fetched' && e.background).length >= fetched.length / 2, 'most refreshes in the background');
  assert.equal(op.tokenRequests(), fetched.length, 'one token request per refresh, despite 20 concurrent callers');
  assert.equal(events.filter((e) => e.type === 'refresh_failed').length, 0);
  assert.ok(calls > distinct.size * 10);
});

test('a failing refresh keeps serving the still-valid token until it stops being usable, then surfaces the error', async (t) => {
  const as = await startScriptedAs({ expiresIn: 4 });
  t.after(() => as.close());
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({ issuer: as.issuer, auth, refreshJitter: 0, retry: { maxRetries: 1, baseDelayMs: 50, maxDelayMs: 400 }, onEvent: (e) => events.push(e) });
  const first = await client.getToken();
  // From now on, the AS is down.
  as.script.push(...Array.from({ length: 500 }, () => ({ status: 503 as const })));
  let last: AccessToken = first;
  let error: unknown;
  for (;;) {
    try {
      last = await client.getToken();
      assert.equal(last.accessToken, first.accessToken);
      assert.ok(Date.now() < as.issued.get(first.accessToken)!, 'never served past the server-side expiry');
    } catch (e) {
      error = e;
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(error instanceof LatchkeyClientError);
  assert.equal(error.code, 'ERR_HTTP_STATUS');
  assert.equal(error.status, 503);
  const failures = events.filter((e) => e.type === 'refresh_failed');
  const background = failures.filter((e) => e.type === 'refresh_failed' && e.background);
  assert.ok(background.length >= 1, 'background refresh failures are reported');
  assert.ok(background.some((f) => f.type === 'refresh_failed' && f.servingCachedUntil !== undefined));
  for (const f of background) assert.ok(f.type === 'refresh_failed' && (f.servingCachedUntil === undefined || f.servingCachedUntil <= first.expiresAt));
  // Failed background refreshes back off instead of firing on every call.
  assert.ok(as.requests.length < 40, `${as.requests.length} token requests while the AS was down`);
  // The AS recovers: the next call after the cooldown gets a fresh token.
  as.script.length = 0;
  const next = await waitFor(() => client.getToken());
  assert.notEqual(next.accessToken, first.accessToken);
});

test('refresh times are jittered so a fleet does not refresh at once', async (t) => {
  const as = await startScriptedAs({ expiresIn: 3600 });
  t.after(() => as.close());
  const refreshAts = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const client = new TokenClient({ issuer: as.issuer, auth, refreshAheadSeconds: 300, refreshJitter: 0.5 });
    await client.getToken();
    // @ts-expect-error test-only peek at the private cache entry
    refreshAts.add(Math.round([...client.entries.values()][0].refreshAt / 1000));
  }
  assert.ok(refreshAts.size >= 10, `only ${refreshAts.size} distinct refresh seconds among 20 clients`);
});

test('forceRefresh, invalidate and clear', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  const a = await client.getToken();
  assert.equal((await client.getToken()).accessToken, a.accessToken);
  const [b, b2] = await Promise.all([client.getToken({ forceRefresh: true }), client.getToken({ forceRefresh: true })]);
  assert.notEqual(b.accessToken, a.accessToken);
  assert.equal(b2.accessToken, b.accessToken, 'concurrent forced refreshes share one request');
  client.invalidate(a.accessToken); // stale token: no effect
  assert.equal((await client.getToken()).accessToken, b.accessToken);
  client.invalidate(b.accessToken);
  const c = await client.getToken();
  assert.notEqual(c.accessToken, b.accessToken);
  client.clear();
  assert.notEqual((await client.getToken()).accessToken, c.accessToken);
  assert.equal(as.requests.length, 4);
});

test('scope and resource are normalised into one cache key and sent as RFC 8707 repeated parameters', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth, scope: 'b a', resource: ['https://two.example/', 'https://one.example/'] });
  await client.getToken();
  await client.getToken({ scope: ['a', 'b', 'a'], resource: ['https://one.example/', 'https://two.example/'] });
  assert.equal(as.requests.length, 1);
  const params = as.requests[0]!.params;
  assert.equal(params.get('grant_type'), 'client_credentials');
  assert.equal(params.get('scope'), 'a b');
  assert.deepEqual(params.getAll('resource'), ['https://one.example/', 'https://two.example/']);
  await client.getToken({ scope: '', resource: [] });
  assert.equal(as.requests.length, 2);
  assert.equal(as.requests[1]!.params.get('scope'), null);
  assert.deepEqual(as.requests[1]!.params.getAll('resource'), []);
  await assert.rejects(client.getToken({ resource: 'https://x.example/#frag' }), (e: any) => e.code === 'ERR_INVALID_OPTIONS');
  await assert.rejects(client.getToken({ resource: 'relative/path' }), (e: any) => e.code === 'ERR_INVALID_OPTIONS');
  await assert.rejects(client.getToken({ scope: 'bad"scope' }), (e: any) => e.code === 'ERR_INVALID_OPTIONS');
});

test('the cache is bounded', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth, maxCacheEntries: 3 });
  for (const s of ['a', 'b', 'c', 'd']) await client.getToken({ scope: s });
  await client.getToken({ scope: 'd' });
  assert.equal(as.requests.length, 4);
  await client.getToken({ scope: 'a' }); // evicted, fetched again
  assert.equal(as.requests.length, 5);
});

test('invalid options are refused at construction with ERR_INVALID_OPTIONS', () => {
  const bad: unknown[] = [
    {},
    { issuer: 'not a url', auth },
    { issuer: 'https://as.example', auth: { method: 'none', clientId: 'x' } },
    { issuer: 'https://as.example', auth: { ...auth, clientId: '' } },
    { tokenEndpoint: 'https://as.example/token', auth: { method: 'private_key_jwt', clientId: 'x', privateKey: {} } },
    { issuer: 'https://as.example', auth, refreshJitter: 2 },
    { issuer: 'https://as.example', auth, timeoutMs: 0 },
    { issuer: 'https://as.example', auth, retry: { maxRetries: -1 } },
    { issuer: 'https://as.example', auth, tokenParams: { grant_type: 'password' } },
    { issuer: 'https://as.example', auth, scope: 'a\u0000' },
  ];
  for (const options of bad) {
    assert.throws(() => new TokenClient(options as never), (e: any) => e instanceof LatchkeyClientError && e.code === 'ERR_INVALID_OPTIONS', JSON.stringify(options));
  }
});

async function waitFor<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

test('per-call options: invalid input is never mistaken for a memoised valid key', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth });
  await client.getToken({ resource: ['https://a.example/', 'https://b.example/'] });
  await client.getToken();
  await assert.rejects(client.getToken({ scope: '\u0001' }), (e: any) => e.code === 'ERR_INVALID_OPTIONS');
  // One element that looks like two, after joining: a different (and here valid) resource.
  await client.getToken({ resource: ['https://a.example/ https://b.example/'] }).catch(() => undefined);
  const sent = as.requests.map((r) => r.params.getAll('resource'));
  assert.deepEqual(sent[0], ['https://a.example/', 'https://b.example/']);
  assert.notDeepEqual(sent.at(-1), ['https://a.example/', 'https://b.example/']);
});

test('console.log / util.inspect of a token does not print the token', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const client = new TokenClient({ issuer: as.issuer, auth, scope: 'a' });
  const token = await client.getToken();
  const { inspect } = await import('node:util');
  const shown = inspect(token, { depth: 5 });
  assert.ok(!shown.includes(token.accessToken), shown);
  assert.match(shown, /\[redacted\]/);
  assert.match(shown, /Bearer/);
  assert.equal(token.response.access_token, token.accessToken, 'the data itself is untouched');
});
