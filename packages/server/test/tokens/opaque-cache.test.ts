/**
 * The opaque-token cache (tokens/opaque-cache.ts, issue #16) on real stores: two server nodes on one SQLite file or
 * one PostgreSQL database, over HTTP where a node's answer is what counts. Revocation must never be weakened beyond
 * SPEC §4 (every node within 1 s; the node that revoked at once), nor expiry or a client's disabling.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { basic, pgAvailable, postForm, readJson, startTestServer, type TestServer } from '../helpers/harness.js';
import { pgBehindProxy, spawnNode, type CuttableProxy, type NodeProcess } from '../helpers/nodes.js';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/app/server.js';
import { closeRuntime, openRuntime, type Runtime } from '../../src/app/runtime.js';
import { ClientService } from '../../src/management/clients.service.js';
import { openSession, readCookie } from '../../src/console/sessions.js';
import { opaqueTokenHash } from '../../src/tokens/mint.js';
import { OpaqueTokenCache } from '../../src/tokens/opaque-cache.js';
import type { OpaqueTokenRecord } from '../../src/store/types.js';

type Creds = { client_id: string; client_secret: string };
const API = 'https://api.example.com';
const nowSec = () => Math.floor(Date.now() / 1000);

const record = (hash: string, exp: number, over: Partial<OpaqueTokenRecord> = {}): OpaqueTokenRecord => ({
  token_hash: hash,
  jti: `jti-${hash}`,
  client_id: 'c1',
  scope: 'a b',
  aud: [API],
  iat: exp - 300,
  exp,
  cnf: null,
  token_type: 'Bearer',
  ...over,
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`opaque-token cache, two nodes on one ${kind} store`, async () => {
    const skip = kind === 'postgres' && !(await pgAvailable());
    let a: TestServer;
    let b: TestServer;
    let owner: Creds;
    let rs: Creds;

    before(async () => {
      if (skip) return;
      const kek = randomBytes(32).toString('base64url');
      const config = { rateLimitFailures: 1_000_000 };
      a = await startTestServer({ store: kind, kek, config });
      b = await startTestServer({ db: a.db, kek, config });
      owner = (await a.createClient({ client_name: 'opaque owner', scope: 'r w', audience: [API], access_token_format: 'opaque', access_token_ttl: 300 })) as Creds;
      rs = (await a.createClient({ client_name: 'resource server', scope: 'latchkey:introspect' })) as Creds;
      await b.sync();
    });
    after(async () => {
      if (skip) return;
      await b?.close();
      await a?.close();
    });

    const issue = async (srv: TestServer, c: Creds = owner) => {
      const r = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) });
      assert.equal(r.status, 200, r.text);
      assert.match(r.json.access_token, /^lko_/);
      return r.json.access_token as string;
    };
    const introspect = async (srv: TestServer, token: string) => {
      const r = await postForm(`${srv.url}/oauth2/introspect`, { token }, { authorization: basic(rs.client_id, rs.client_secret) });
      assert.equal(r.status, 200, r.text);
      return r.json as { active: boolean; jti?: string };
    };
    const revoke = async (srv: TestServer, token: string, c: Creds = owner) => {
      const r = await postForm(`${srv.url}/oauth2/revoke`, { token }, { authorization: basic(c.client_id, c.client_secret) });
      assert.equal(r.status, 200, r.text);
    };
    const cached = (srv: TestServer, token: string) => srv.services.opaqueTokens.lookup(opaqueTokenHash(token));

    it('revoked on node A → inactive on node B within 1 s (change feed), and never active again', { skip }, async () => {
      const t = await issue(a);
      const n = b.services.opaqueTokens.size;
      assert.equal((await introspect(b, t)).active, true);
      assert.equal(b.services.opaqueTokens.size, n + 1, 'B cached the record it read');
      await revoke(a, t);
      const t0 = Date.now();
      while ((await introspect(b, t)).active) {
        assert.ok(Date.now() - t0 < 1000, 'B still answers active 1 s after the revocation on A');
        await new Promise((r) => setTimeout(r, 10));
      }
      const took = Date.now() - t0;
      assert.ok(took <= 1000, `took ${took} ms`);
      for (let i = 0; i < 5; i++) assert.equal((await introspect(b, t)).active, false);
      assert.equal(await cached(b, t), undefined);
    });

    it('revoked on the node that issued (and cached) it → inactive there at once; the change event carries the hash only', { skip }, async () => {
      const seq = await a.services.store.latestChangeSeq();
      const t = await issue(a);
      assert.equal((await introspect(a, t)).active, true);
      await revoke(a, t);
      assert.equal((await introspect(a, t)).active, false, 'no wait for any poll');
      const events = (await a.services.store.changesSince(seq)).filter((e) => e.kind === 'opaque_revocation');
      assert.deepEqual(events.map((e) => e.ref), [opaqueTokenHash(t)]);
      const all = JSON.stringify(await a.services.store.changesSince(seq));
      assert.ok(!all.includes(t) && !all.includes(t.slice(4)), 'the token itself is never written to the feed');
    });

    it('client disabled → its cached tokens are inactive on both nodes as soon as each applies the change; enabled → active again', { skip }, async () => {
      const c = (await a.createClient({ client_name: 'to disable', scope: 'r', audience: [API], access_token_format: 'opaque' })) as Creds;
      await b.sync();
      const t = await issue(a, c);
      assert.equal((await introspect(a, t)).active, true);
      assert.equal((await introspect(b, t)).active, true);
      await new ClientService(a.services).setDisabled(c.client_id, true, 'test');
      await a.sync();
      await b.sync();
      assert.equal((await introspect(a, t)).active, false);
      assert.equal((await introspect(b, t)).active, false);
      assert.ok(await cached(a, t), 'the record is still cached: the client check is what answers');
      await new ClientService(a.services).setDisabled(c.client_id, false, 'test');
      await a.sync();
      assert.equal((await introspect(a, t)).active, true);
    });

    it('expiry is honoured by the cache (a 1-second token, cached at issue)', { skip }, async () => {
      const c = (await a.createClient({ client_name: 'short', scope: 'r', audience: [API], access_token_format: 'opaque', access_token_ttl: 1 })) as Creds;
      const t = await issue(a, c);
      const rec = await cached(a, t);
      assert.ok(rec);
      // Still active until exp (same second), inactive from exp on.
      while (nowSec() < rec.exp) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await introspect(a, t)).active, false);
      assert.equal(await a.services.opaqueTokens.lookup(opaqueTokenHash(t)), undefined);
    });

    it('console sign-out with an opaque admin token revokes it on this node at once and on the other within 1 s', { skip }, async () => {
      const admin = (await a.createClient({ client_name: 'opaque admin', scope: 'latchkey:admin', audience: [a.issuer], access_token_format: 'opaque' })) as Creds;
      await b.sync();
      const res = await fetch(`${a.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
      const signIn = await readJson(res);
      assert.equal(res.status, 201, signIn.text);
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      const token = openSession(a.services.sealer, readCookie(cookie, cookie.split('=')[0]!))!.accessToken;
      assert.match(token, /^lko_/);
      assert.equal((await introspect(a, token)).active, true);
      assert.equal((await introspect(b, token)).active, true);
      const out = await fetch(`${a.url}/console/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': signIn.json.csrf_token as string } });
      assert.equal(out.status, 204);
      assert.equal((await introspect(a, token)).active, false);
      const t0 = Date.now();
      while ((await introspect(b, token)).active) {
        assert.ok(Date.now() - t0 < 1000, 'B still answers active 1 s after the sign-out on A');
        await new Promise((r) => setTimeout(r, 10));
      }
    });

    it('unknown tokens are not cached: a token whose row appears later is found at once', { skip }, async () => {
      const h = `unknown-${randomBytes(8).toString('hex')}`;
      const before = a.services.opaqueTokens.size;
      assert.equal(await a.services.opaqueTokens.lookup(h), undefined);
      assert.equal(a.services.opaqueTokens.size, before);
      await a.services.store.insertOpaqueTokens([record(h, nowSec() + 60)]);
      assert.ok(await a.services.opaqueTokens.lookup(h));
    });

    it('a store read in flight while an entry is forgotten does not fill the cache (a revoked row read just before its delete)', { skip }, async () => {
      const h = `race-${randomBytes(8).toString('hex')}`;
      await a.services.store.insertOpaqueTokens([record(h, nowSec() + 60)]);
      const cache = new OpaqueTokenCache(a.services.store, { syncedAt: () => Date.now() });
      const pending = cache.lookup(h);
      cache.forget('some other hash'); // e.g. a revocation event arriving while the read is out
      assert.ok(await pending, 'the read itself answers');
      assert.equal(cache.size, 0, 'but does not fill');
      assert.ok(await cache.lookup(h));
      assert.equal(cache.size, 1, 'a read with no forget in between fills');
    });

    it('answers from memory only while the change feed is fresh (≤ 1 s behind); otherwise from the store', { skip }, async () => {
      let synced = Date.now();
      const cache = new OpaqueTokenCache(a.services.store, { syncedAt: () => synced });
      // A record only in memory (never stored) tells the two paths apart.
      const rec = record(`mem-${randomBytes(8).toString('hex')}`, nowSec() + 60);
      cache.remember(rec);
      assert.equal(await cache.lookup(rec.token_hash), rec);
      synced = Date.now() - 1500;
      assert.equal(await cache.lookup(rec.token_hash), undefined, 'a feed 1.5 s behind: the store says unknown');
      synced = Date.now();
      assert.equal(await cache.lookup(rec.token_hash), rec);
      // The server's cache is tied to its own feed: stopped feed → no answers from memory after 1 s.
      assert.ok(Date.now() - a.services.feed.syncedAt <= 1000, 'the running node is synced');
    });
  });
}

describe('opaque-token cache while PostgreSQL is cut off', async () => {
  const skip = !(await pgAvailable());
  let proxy: CuttableProxy;
  let db: { url: string; drop(): Promise<void> };
  let srv: TestServer;

  before(async () => {
    if (skip) return;
    let url: string;
    ({ db, proxy, url } = await pgBehindProxy());
    srv = await startTestServer({ db: url, config: { rateLimitFailures: 1_000_000 } });
  });
  after(async () => {
    if (skip) return;
    await srv?.close();
    await proxy?.cut();
    await db?.drop();
  });

  it('a cached token is answered from memory for at most 1 s after the feed last reached the store, then 503 (never a stale active)', { skip }, async () => {
    const c = (await srv.createClient({ client_name: 'opaque', scope: 'latchkey:introspect', audience: [API], access_token_format: 'opaque' })) as Creds;
    const auth = { authorization: basic(c.client_id, c.client_secret) };
    const t = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, auth);
    assert.equal(t.status, 200, t.text);
    const introspect = () => postForm(`${srv.url}/oauth2/introspect`, { token: t.json.access_token as string }, auth);
    assert.equal((await introspect()).json.active, true);
    await srv.sync();
    const synced = srv.services.feed.syncedAt;
    await proxy.cut();
    const seen: { at: number; status: number }[] = [];
    while (Date.now() - synced < 2000) {
      const at = Date.now();
      const r = await introspect();
      seen.push({ at, status: r.status });
      if (r.status === 200) assert.equal(r.json.active, true);
      else assert.equal(r.json.error, 'temporarily_unavailable');
      await new Promise((res) => setTimeout(res, 20));
    }
    const late = seen.filter((x) => x.at - synced > 1000);
    assert.ok(late.length > 0);
    assert.deepEqual([...new Set(late.map((x) => x.status))], [503], 'no answer from memory once the feed is 1 s behind');
    await proxy.restore();
    const t0 = Date.now();
    while ((await introspect()).status !== 200) {
      assert.ok(Date.now() - t0 < 10_000, 'back after the store is');
      await new Promise((res) => setTimeout(res, 50));
    }
  });
});

/** One form POST on a fresh connection: node:cluster hands connections to the workers in turn. */
function freshPost(url: string, body: string, authorization: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), authorization, connection: 'close' } },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('opaque-token cache in `latchkey start --workers 2` (one SQLite file, real processes)', () => {
  let dataDir: string;
  let node: NodeProcess;
  let admin: Runtime;
  const kek = randomBytes(32).toString('base64url');

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'latchkey-opaque-workers-'));
    const db = `sqlite:${join(dataDir, 'latchkey.db')}`;
    admin = await openRuntime(loadConfig({ db, dataDir, kek, logLevel: 'silent' }, {}), createLogger('silent'));
    node = await spawnNode({ db, dataDir, kek, workers: 2, env: { LATCHKEY_RATE_LIMIT_FAILURES: '1000000' } });
  });
  after(async () => {
    await node?.stop();
    await closeRuntime(admin).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('revoked through one worker → no worker answers active later than 1 s after the revocation', async () => {
    const c = (await new ClientService(admin).create({ client_name: 'opaque', scope: 'latchkey:introspect', audience: [API], access_token_format: 'opaque' }, 'test')) as Creds;
    const auth = basic(c.client_id, c.client_secret);
    let token: string | undefined;
    for (let i = 0; i < 100 && !token; i++) {
      const r = await freshPost(`${node.url}/oauth2/token`, 'grant_type=client_credentials', auth);
      if (r.status === 200) token = (JSON.parse(r.body) as { access_token: string }).access_token;
      else await new Promise((res) => setTimeout(res, 50)); // the other worker may not know the client yet
    }
    assert.ok(token, 'a token');
    const introspect = async () => {
      const r = await freshPost(`${node.url}/oauth2/introspect`, `token=${token}`, auth);
      assert.equal(r.status, 200, r.body);
      return (JSON.parse(r.body) as { active: boolean }).active;
    };
    // Both workers answer (and cache) it: connections alternate between them.
    for (let i = 0; i < 10; i++) assert.equal(await introspect(), true);
    const rv = await freshPost(`${node.url}/oauth2/revoke`, `token=${token}`, auth);
    assert.equal(rv.status, 200, rv.body);
    const revokedAt = Date.now();
    const late: boolean[] = [];
    while (Date.now() - revokedAt < 1600) {
      const at = Date.now();
      const active = await introspect();
      if (at - revokedAt > 1000) late.push(active);
    }
    assert.ok(late.length >= 4, `${late.length} answers after 1 s`);
    assert.deepEqual([...new Set(late)], [false], 'a worker still answered active more than 1 s after the revocation');
  });
});

describe('opaque-token cache: bounds (real SQLite store)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());

  it('holds at most `max` records; a record used at least once per max/2 insertions stays, unused ones go; max 0 caches nothing', async () => {
    const cache = new OpaqueTokenCache(srv.services.store, { max: 1000, syncedAt: () => Date.now() });
    const exp = nowSec() + 600;
    cache.remember(record('kept', exp));
    for (let i = 0; i < 3500; i++) {
      cache.remember(record(`h${i}`, exp));
      assert.ok(cache.size <= 1000);
      if (i % 400 === 0) assert.ok(await cache.lookup('kept'), `kept at ${i}`);
    }
    assert.ok(await cache.lookup('kept'), 'used every 400 insertions: never dropped');
    // Fewer than max/2 insertions after it: always there. 1000 or more and never used: gone (and not in the store).
    for (let i = 3001; i < 3500; i++) assert.ok(await cache.lookup(`h${i}`), `h${i}`);
    for (let i = 0; i < 2500; i++) assert.equal(await cache.lookup(`h${i}`), undefined, `h${i}`);
    const off = new OpaqueTokenCache(srv.services.store, { max: 0, syncedAt: () => Date.now() });
    off.remember(record('x', exp));
    assert.equal(off.size, 0);
    assert.equal(await off.lookup('x'), undefined);
  });

  it('memory stays flat when filled far past the bound (default 20,000)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const cache = new OpaqueTokenCache(srv.services.store, { syncedAt: () => Date.now() });
    const exp = nowSec() + 600;
    // Realistic records: a 43-character hash, a 22-character jti, fresh strings and arrays each (as read from a store).
    const fill = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const h = opaqueTokenHash(`lko_${i}`);
        cache.remember(record(h, exp, { jti: h.slice(0, 22), client_id: `client-${i % 50}`, scope: `read write ${i % 7}`, aud: [`https://api-${i % 3}.example.com`] }));
      }
    };
    const h0 = heap();
    fill(0, cache.max - 1);
    const n1 = cache.size;
    const h1 = heap();
    fill(cache.max, cache.max * 5);
    const h2 = heap();
    assert.ok(cache.size <= cache.max && cache.size >= cache.max / 2, String(cache.size));
    const perEntry = (h1 - h0) / n1;
    console.log(`opaque-token cache: ${n1} entries after ${cache.max} insertions, ~${Math.round(perEntry)} bytes/entry (${((h1 - h0) / 1048576).toFixed(1)} MiB); after 5× the bound: ${cache.size} entries, ${((h2 - h0) / 1048576).toFixed(1)} MiB`);
    assert.ok(perEntry < 1500, `${perEntry} bytes per entry`);
    assert.ok(h2 - h0 < (h1 - h0) * 1.25 + 2 * 1048576, `grew from ${h1 - h0} to ${h2 - h0} bytes after 5× the bound`);
  });

  it('matches a model of its two generations, with expiry and forgetting; never answers a forgotten, expired or unknown record (fast-check)', async () => {
    const store = srv.services.store;
    const keys = fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6');
    const op = fc.oneof(
      fc.record({ t: fc.constant('remember' as const), k: keys, ttl: fc.integer({ min: -1, max: 5 }) }),
      fc.record({ t: fc.constant('lookup' as const), k: keys }),
      fc.record({ t: fc.constant('forget' as const), k: keys }),
      fc.record({ t: fc.constant('tick' as const), s: fc.integer({ min: 1, max: 3 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 80 }), async (max, ops) => {
        let now = nowSec() + 10_000;
        const cache = new OpaqueTokenCache(store, { max, syncedAt: () => now * 1000 });
        // Model: two generations of ceil(max / 2), as documented in tokens/opaque-cache.ts.
        const gen = Math.ceil(max / 2);
        let young = new Map<string, number>();
        let old = new Map<string, number>();
        const put = (k: string, exp: number) => {
          old.delete(k);
          young.set(k, exp);
          if (young.size >= gen) [old, young] = [young, new Map()];
        };
        // Independent of the model: what a lookup may ever answer.
        const live = new Map<string, number>();
        for (const o of ops) {
          if (o.t === 'tick') now += o.s;
          else if (o.t === 'forget') {
            cache.forget(o.k);
            young.delete(o.k);
            old.delete(o.k);
            live.delete(o.k);
          } else if (o.t === 'remember') {
            cache.remember(record(o.k, now + o.ttl));
            put(o.k, now + o.ttl);
            live.set(o.k, now + o.ttl);
          } else {
            const got = await cache.lookup(o.k, now * 1000);
            const inYoung = young.get(o.k);
            const m = inYoung ?? old.get(o.k);
            if (m !== undefined && m > now) {
              assert.equal(got?.exp, m);
              if (inYoung === undefined) put(o.k, m);
            } else {
              assert.equal(got, undefined);
              if (m !== undefined) {
                young.delete(o.k);
                old.delete(o.k);
              }
            }
            if (got) assert.ok(live.get(o.k) === got.exp && got.exp > now, 'only a live, remembered, unforgotten record');
          }
          assert.equal(cache.size, young.size + old.size);
          assert.ok(cache.size <= max);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('opaqueTokenCache setting (LATCHKEY_OPAQUE_TOKEN_CACHE)', () => {
  it('0 turns the cache off: issuing and introspecting keep nothing in memory, introspection still answers', async () => {
    const srv = await startTestServer({ config: { opaqueTokenCache: 0 } });
    try {
      assert.equal(srv.services.opaqueTokens.max, 0);
      const owner = (await srv.createClient({ client_name: 'off', scope: 'r', access_token_format: 'opaque' })) as Creds;
      const rs = (await srv.createClient({ client_name: 'rs-off', scope: 'latchkey:introspect' })) as Creds;
      await srv.sync();
      const t = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(owner.client_id, owner.client_secret) });
      const i = await postForm(`${srv.url}/oauth2/introspect`, { token: t.json.access_token as string }, { authorization: basic(rs.client_id, rs.client_secret) });
      assert.equal(i.json.active, true);
      assert.equal(srv.services.opaqueTokens.size, 0);
    } finally {
      await srv.close();
    }
  });

  it('the setting bounds the cache', async () => {
    const srv = await startTestServer({ config: { opaqueTokenCache: 4 } });
    try {
      const owner = (await srv.createClient({ client_name: 'small', scope: 'r', access_token_format: 'opaque' })) as Creds;
      await srv.sync();
      for (let n = 0; n < 10; n++) {
        const t = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(owner.client_id, owner.client_secret) });
        assert.equal(t.status, 200);
      }
      assert.equal(srv.services.opaqueTokens.max, 4);
      assert.ok(srv.services.opaqueTokens.size <= 4 && srv.services.opaqueTokens.size > 0, `size ${srv.services.opaqueTokens.size}`);
    } finally {
      await srv.close();
    }
  });
});
