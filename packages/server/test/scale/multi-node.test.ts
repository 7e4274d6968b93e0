import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/app/server.js';
import { ClientService } from '../../src/management/clients.service.js';
import { closeRuntime, openRuntime, type Runtime } from '../../src/app/runtime.js';
import { basic, createPgDatabase, freePort, pgAvailable, postForm, REDIS_URL } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { spawnNode, type NodeProcess } from '../helpers/nodes.js';

describe('two server processes on one PostgreSQL and Redis (SPEC §5, issue 8)', async () => {
  const skip = !(await pgAvailable());
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;
  const kek = randomBytes(32).toString('base64url');
  let a: NodeProcess;
  let b: NodeProcess;
  let admin: Runtime;
  let client: { client_id: string; client_secret: string };

  before(async () => {
    if (skip) return;
    db = await createPgDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'latchkey-nodes-'));
    // One deployment: one issuer (as behind a load balancer), shared Redis namespace and KEK.
    const issuer = `http://127.0.0.1:${await freePort()}`;
    // The disabled-client check below answers many 401s for one (127.0.0.1, client id) pair while the change
    // propagates; with the default budget (20 failures per (address, client id), shared through Redis) a slow
    // CI machine would block that pair before any credential check (429) for longer than the re-enable. Only
    // that pair: other clients at the address and the admin are unaffected (SPEC §5). The limiter's
    // cross-node behaviour has its own tests (test/trust-boundary/limits.test.ts); here it must not interfere.
    const env = { LATCHKEY_RATE_LIMIT_FAILURES: '1000000' };
    a = await spawnNode({ db: db.url, dataDir, kek, redis: REDIS_URL, issuer, env });
    b = await spawnNode({ db: db.url, dataDir, kek, redis: REDIS_URL, issuer, env });
    admin = await openRuntime(loadConfig({ db: db.url, dataDir, kek, logLevel: 'silent' }, {}), createLogger('silent'));
    client = (await new ClientService(admin).create({ client_name: 'multi', scope: 'a b', token_endpoint_auth_method: 'client_secret_basic' }, 'test')) as typeof client;
  });
  after(async () => {
    if (skip) return;
    await Promise.all([a?.stop(), b?.stop()]);
    await closeRuntime(admin).catch(() => {});
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const token = (node: NodeProcess, extra: Record<string, string> = {}) =>
    postForm(`${node.url}/oauth2/token`, { grant_type: 'client_credentials', ...extra }, { authorization: basic(client.client_id, client.client_secret) });

  const kidOf = (r: { status: number; json: { access_token?: string } }) => {
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return decodeProtectedHeader(r.json.access_token!).kid;
  };

  async function eventually(check: () => Promise<boolean>, ms = 1000): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (await check()) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`not within ${ms} ms`);
  }

  it('a client created elsewhere works on both nodes; a change is enforced on both within 1 s', { skip }, async () => {
    // Warm-up (fresh processes, cold JIT, a busy CI machine): the first tokens may take a moment.
    await eventually(async () => (await token(a)).status === 200 && (await token(b)).status === 200, 10_000);
    await new ClientService(admin).update(client.client_id, { scope: 'a' }, 'test');
    await eventually(async () => (await token(a, { scope: 'b' })).status === 400 && (await token(b, { scope: 'b' })).status === 400);
    await new ClientService(admin).setDisabled(client.client_id, true, 'test');
    await eventually(async () => (await token(a)).status === 401 && (await token(b)).status === 401);
    await new ClientService(admin).setDisabled(client.client_id, false, 'test');
    await eventually(async () => (await token(a)).status === 200 && (await token(b)).status === 200);
  });

  it('all nodes publish the same JWKS and sign with the same key through a rotation', { skip }, async () => {
    const jwks = async (n: NodeProcess) => (await fetch(`${n.url}/.well-known/jwks.json`)).text();
    assert.equal(await jwks(a), await jwks(b));
    const before = JSON.parse(await jwks(a)).keys.map((k: { kid: string }) => k.kid);
    const rot = await runCli(['keys', 'rotate', '--prepublish', '2', '--db', db.url, '--data-dir', dataDir, '--json'], { LATCHKEY_KEK: kek });
    assert.equal(rot.code, 0, rot.stderr);
    const next = JSON.parse(rot.stdout).kid;
    // Published everywhere within 1 s, before it signs anything.
    await eventually(async () => {
      const [ja, jb] = await Promise.all([jwks(a), jwks(b)]);
      return ja === jb && JSON.parse(ja).keys.some((k: { kid: string }) => k.kid === next);
    });
    const old = kidOf(await token(a));
    assert.ok(before.includes(old) && old !== next, 'the old key still signs during pre-publication');
    // After activation both nodes sign with the new key; the old one stays published.
    await eventually(async () => {
      const [ta, tb] = await Promise.all([token(a), token(b)]);
      return kidOf(ta) === next && kidOf(tb) === next;
    }, 5000);
    const published = JSON.parse(await jwks(b)).keys.map((k: { kid: string }) => k.kid);
    assert.ok(published.includes(old) && published.includes(next));
  });

  it('a single-use value recorded by one node is refused by another (store and Redis)', { skip }, async () => {
    const other = await openRuntime(loadConfig({ db: db.url, dataDir, kek, logLevel: 'silent', redis: REDIS_URL }, {}), createLogger('silent'));
    const third = await openRuntime(loadConfig({ db: db.url, dataDir, kek, logLevel: 'silent', redis: REDIS_URL }, {}), createLogger('silent'));
    try {
      const exp = Math.floor(Date.now() / 1000) + 60;
      // Store path (no Redis in `admin`), many concurrent racers: exactly one wins.
      const key = `test:${randomBytes(8).toString('hex')}`;
      const results = await Promise.all([...Array(20)].map((_, i) => (i % 2 ? admin : other).store.useOnce(key, exp)));
      assert.equal(results.filter(Boolean).length, 1);
      const batched = await Promise.all([...Array(20)].map(() => admin.once.use(`${key}:b`, exp)));
      assert.equal(batched.filter(Boolean).length, 1);
      // Redis path.
      const rkey = `test:${randomBytes(8).toString('hex')}`;
      await new Promise((r) => setTimeout(r, 200));
      const r = await Promise.all([...Array(20)].map((_, i) => (i % 2 ? other : third).once.use(rkey, exp)));
      assert.equal(r.filter(Boolean).length, 1);
    } finally {
      await closeRuntime(other);
      await closeRuntime(third);
    }
  });
});
