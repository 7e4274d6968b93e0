// A cross-process token cache on a real Redis: a scaled-out service fetches one token, not one per
// instance (the Auth0 users' request in auth0/node-auth0#792).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { LatchkeyClientError, TokenClient, type SharedTokenCache, type TokenClientEvent } from '../src/index.js';
import { startScriptedAs } from './helpers/scripted-as.js';

const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const auth = { method: 'client_secret_basic', clientId: 'svc', clientSecret: 'secret' } as const;

function redisCache(redis: Redis, namespace: string): SharedTokenCache {
  return {
    get: (key) => redis.get(namespace + key),
    set: (key, value, ttl) => redis.set(namespace + key, value, 'EX', ttl),
  };
}

test('ten instances sharing a Redis cache make one token request', async (t) => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  t.after(() => redis.quit());
  const ns = `test:${randomBytes(6).toString('hex')}:`;
  const as = await startScriptedAs({ expiresIn: 600 });
  t.after(() => as.close());
  const events: TokenClientEvent[] = [];
  const first = new TokenClient({ issuer: as.issuer, auth, scope: 'a', sharedCache: redisCache(redis, ns), onEvent: (e) => events.push(e) });
  const token = await first.getToken();
  const others = Array.from({ length: 9 }, () => new TokenClient({ issuer: as.issuer, auth, scope: 'a', sharedCache: redisCache(redis, ns), onEvent: (e) => events.push(e) }));
  const got = await Promise.all(others.map((c) => c.getToken()));
  for (const g of got) assert.equal(g.accessToken, token.accessToken);
  assert.equal(as.requests.length, 1);
  assert.equal(events.filter((e) => e.type === 'shared_cache_hit').length, 9);
  assert.equal(events.filter((e) => e.type === 'token_fetched').length, 1, 'token_fetched only for the server fetch');
  // The value in Redis expires with the token.
  const keys = await redis.keys(`${ns}*`);
  assert.equal(keys.length, 1);
  const ttl = await redis.ttl(keys[0]!);
  assert.ok(ttl > 500 && ttl <= 600, `ttl ${ttl}`);
  // A different client id never sees that token.
  const stranger = new TokenClient({ issuer: as.issuer, auth: { ...auth, clientId: 'other' }, scope: 'a', sharedCache: redisCache(redis, ns) });
  assert.notEqual((await stranger.getToken()).accessToken, token.accessToken);
  assert.equal(as.requests.length, 2);
  await redis.del(...(await redis.keys(`${ns}*`)));
});

test('when one instance refreshes, the others pick up its token instead of fetching', async (t) => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  t.after(() => redis.quit());
  const ns = `test:${randomBytes(6).toString('hex')}:`;
  const as = await startScriptedAs({ expiresIn: 600 });
  t.after(() => as.close());
  const a = new TokenClient({ issuer: as.issuer, auth, sharedCache: redisCache(redis, ns) });
  const b = new TokenClient({ issuer: as.issuer, auth, sharedCache: redisCache(redis, ns) });
  const t1 = await a.getToken();
  assert.equal((await b.getToken()).accessToken, t1.accessToken);
  // a's token is rejected by an API: a fetches a new one and publishes it.
  a.invalidate(t1.accessToken);
  const t2 = await a.getToken();
  assert.notEqual(t2.accessToken, t1.accessToken);
  b.invalidate(t1.accessToken);
  assert.equal((await b.getToken()).accessToken, t2.accessToken);
  assert.equal(as.requests.length, 2);
  await redis.del(...(await redis.keys(`${ns}*`)));
});

test('a failing or corrupt shared cache never breaks token acquisition', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const events: TokenClientEvent[] = [];
  const broken: SharedTokenCache = { get: async () => { throw new Error('redis down'); }, set: async () => { throw new Error('redis down'); } };
  const client = new TokenClient({ issuer: as.issuer, auth, sharedCache: broken, onEvent: (e) => events.push(e) });
  assert.ok((await client.getToken()).accessToken);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events.filter((e) => e.type === 'shared_cache_error').map((e) => e.type === 'shared_cache_error' && e.operation).sort(), ['get', 'set']);
  for (const value of ['{', '{"v":1}', JSON.stringify({ v: 1, response: { access_token: 'x', token_type: 'Bearer' }, expiresAt: Date.now() - 1, sentAt: 0 }), JSON.stringify({ v: 1, response: { access_token: 'x', token_type: 'DPoP' }, expiresAt: Date.now() + 60_000, sentAt: Date.now() })]) {
    const corrupt = new TokenClient({ issuer: as.issuer, auth, sharedCache: { get: async () => value, set: async () => 'OK' } });
    assert.notEqual((await corrupt.getToken()).accessToken, 'x', value);
  }
});

test('sharedCache with DPoP is refused', () => {
  assert.throws(
    () => new TokenClient({ issuer: 'https://as.example', auth, dpop: true, sharedCache: { get: async () => null, set: async () => 'OK' } }),
    (e: unknown) => e instanceof LatchkeyClientError && e.code === 'ERR_INVALID_OPTIONS',
  );
});
