import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basic, freePort, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { pgBehindProxy, type CuttableProxy } from '../helpers/nodes.js';
import { closeRuntime, openRuntime } from '../../src/app/runtime.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/app/server.js';

describe('PostgreSQL cut off under load (issue 8 item 4, issue 9 faults)', async () => {
  const skip = !(await pgAvailable());
  let proxy: CuttableProxy;
  let db: { url: string; drop(): Promise<void> };
  let srv: TestServer;
  let jwtClient: { client_id: string; client_secret: string };
  let opaqueClient: { client_id: string; client_secret: string };
  const kek = randomBytes(32).toString('base64url');

  before(async () => {
    if (skip) return;
    let url: string;
    ({ db, proxy, url } = await pgBehindProxy());
    srv = await startTestServer({ db: url, kek, config: { storeOutageGrace: 30 } });
    jwtClient = (await srv.createClient({ client_name: 'jwt', scope: 'a' })) as typeof jwtClient;
    opaqueClient = (await srv.createClient({ client_name: 'opaque', scope: 'a', access_token_format: 'opaque' })) as typeof opaqueClient;
  });
  after(async () => {
    if (skip) return;
    await srv?.close();
    await proxy?.cut();
    await db?.drop();
  });

  const token = (c: { client_id: string; client_secret: string }) =>
    postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) });

  it('cached clients keep getting JWTs; durable writes answer 503, never 500 or a hang; recovery after restore', { skip }, async () => {
    assert.equal((await token(opaqueClient)).status, 200);
    await proxy.cut();
    const statuses = new Map<number, number>();
    const t0 = Date.now();
    let maxMs = 0;
    // A load loop through the outage: JWT issuance must keep working, opaque issuance must fail fast with 503.
    while (Date.now() - t0 < 3000) {
      const s = Date.now();
      const [j, o] = await Promise.all([token(jwtClient), token(opaqueClient)]);
      maxMs = Math.max(maxMs, Date.now() - s);
      assert.equal(j.status, 200, 'JWT for a cached client during the outage');
      assert.equal(o.status, 503);
      assert.deepEqual(Object.keys(o.json).sort(), ['error', 'error_description']);
      assert.equal(o.json.error, 'temporarily_unavailable');
      assert.equal(o.headers.get('retry-after'), '1');
      for (const r of [j, o]) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    assert.ok(maxMs < 8000, `no hang (slowest ${maxMs} ms)`);
    const ready = await fetch(`${srv.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { error: string }).error, 'temporarily_unavailable');
    assert.deepEqual([...statuses.keys()].sort(), [200, 503]);

    await proxy.restore();
    const t1 = Date.now();
    for (;;) {
      const [r, o] = await Promise.all([fetch(`${srv.url}/readyz`), token(opaqueClient)]);
      if (r.status === 200 && o.status === 200) break;
      assert.ok(Date.now() - t1 < 10_000, 'recovers within 10 s');
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  it('after storeOutageGrace without the store, token requests get 503 (bounded trust in the cache)', { skip }, async () => {
    const short = await startTestServer({ db: (() => { const u = new URL(db.url); u.port = String(proxy.port); return u.toString(); })(), kek, config: { storeOutageGrace: 1, changePollInterval: 100 } });
    try {
      const c = (await short.createClient({ client_name: 'g', scope: 'a' })) as typeof jwtClient;
      const tok = () => postForm(`${short.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) });
      assert.equal((await tok()).status, 200);
      await proxy.cut();
      assert.equal((await tok()).status, 200, 'within the grace');
      await new Promise((r) => setTimeout(r, 1800));
      const late = await tok();
      assert.equal(late.status, 503);
      assert.equal(late.json.error, 'temporarily_unavailable');
      await proxy.restore();
      const t0 = Date.now();
      while ((await tok()).status !== 200) {
        assert.ok(Date.now() - t0 < 10_000);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await short.close();
    }
  });
});

describe('Redis killed: single-use values stay single-use (issue 9 faults)', () => {
  let redis: ChildProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const t0 = Date.now();
    for (;;) {
      try {
        const { Redis } = await import('ioredis');
        const r = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        r.on('error', () => {});
        try {
          await r.connect();
          await r.ping();
          break;
        } finally {
          r.disconnect();
        }
      } catch {
        if (Date.now() - t0 > 5000) throw new Error('redis-server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  after(() => {
    redis.kill('SIGKILL');
  });

  it('before, during and after the Redis outage, two nodes never both accept one jti', async () => {
    const dataDir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'lk-redis-'));
    const kek = randomBytes(32).toString('base64url');
    const mk = () => openRuntime(loadConfig({ dataDir, kek, logLevel: 'silent', redis: `redis://127.0.0.1:${port}` }, {}), createLogger('silent'));
    const n1 = await mk();
    const n2 = await mk();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const exp = Math.floor(Date.now() / 1000) + 60;
      const race = async (key: string) => (await Promise.all([...Array(10)].map((_, i) => (i % 2 ? n1 : n2).once.use(key, exp)))).filter(Boolean).length;
      assert.equal(await race('k-before'), 1);
      redis.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      // Redis gone: the shared store takes over — still exactly one winner, no errors.
      for (let i = 0; i < 20; i++) assert.equal(await race(`k-during-${i}`), 1);
      assert.ok(Number((await n1.metrics.registry.getSingleMetricAsString('latchkey_redis_fallbacks_total')).split(' ').pop()) > 0);
    } finally {
      await closeRuntime(n1);
      await closeRuntime(n2);
    }
  });
});
