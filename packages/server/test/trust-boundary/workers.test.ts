import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/app/server.js';
import { closeRuntime, openRuntime, type Runtime } from '../../src/app/runtime.js';
import { ClientService } from '../../src/management/clients.service.js';
import { basic, createPgDatabase, pgAvailable, PG_REQUIRED } from '../helpers/harness.js';
import { spawnNode, type NodeProcess } from '../helpers/nodes.js';

/** One token request on a fresh connection (node:cluster hands connections to the workers in turn). */
function tokenRequest(url: string, authorization: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const body = 'grant_type=client_credentials';
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/oauth2/token`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), authorization, connection: 'close' } },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

for (const store of ['sqlite', 'postgres'] as const) {
  /** Issue #14 items 1 (workers share one budget) and 5 (read-through), against the real CLI with --workers 2. */
  describe(`latchkey start --workers 2 (${store}, no Redis)`, async () => {
    const skip = store === 'postgres' && !PG_REQUIRED && !(await pgAvailable()) ? 'PostgreSQL not available' : false;
    let dataDir: string;
    let node: NodeProcess;
    let admin: Runtime;
    let dropDb: (() => Promise<void>) | undefined;
    const kek = randomBytes(32).toString('base64url');

    before(async () => {
      if (skip) return;
      dataDir = mkdtempSync(join(tmpdir(), 'latchkey-tb-workers-'));
      let db = `sqlite:${join(dataDir, 'latchkey.db')}`;
      if (store === 'postgres') {
        const pg = await createPgDatabase();
        db = pg.url;
        dropDb = () => pg.drop();
      }
      admin = await openRuntime(loadConfig({ db, dataDir, kek, logLevel: 'silent' }, {}), createLogger('silent'));
      // A slow change feed: only the read-through can make new clients work at once.
      node = await spawnNode({ db, dataDir, kek, workers: 2, env: { LATCHKEY_CHANGE_POLL_MS: '5000', LATCHKEY_RATE_LIMIT_FAILURES: '20' } });
    });
    after(async () => {
      if (skip) return;
      await node?.stop();
      await closeRuntime(admin).catch(() => {});
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('200 × (create in another process → token request at once): zero 401s', { skip }, async () => {
      const service = new ClientService(admin);
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) {
        const c = (await service.create({ client_name: `rt-${i}`, scope: 'a' }, 'test')) as { client_id: string; client_secret: string };
        statuses.push((await tokenRequest(node.url, basic(c.client_id, c.client_secret))).status);
      }
      const bad = statuses.filter((s) => s !== 200);
      assert.deepEqual(bad, [], `${bad.length} of 200 not 200: ${[...new Set(bad)].join(',')}`);
    });

    it('the workers share one budget: 20 failures in total, not 20 per worker; a known client at that address still gets 200', { skip }, async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 26; i++) statuses.push((await tokenRequest(node.url, basic(`spray-${store}-${i}`, 'lk_x'))).status);
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401), statuses.join(','));
      assert.deepEqual(statuses.slice(20), Array(6).fill(429), statuses.join(','));
      const known = (await new ClientService(admin).create({ client_name: 'bystander', scope: 'a' }, 'test')) as { client_id: string; client_secret: string };
      for (let i = 0; i < 4; i++) assert.equal((await tokenRequest(node.url, basic(known.client_id, known.client_secret))).status, 200);
      const r = await tokenRequest(node.url, basic(`spray-${store}-last`, 'lk_x'));
      assert.equal(r.status, 429);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.deepEqual(JSON.parse(r.body), { error: 'too_many_requests', error_description: 'too many failed authentication attempts' });
    });
  });
}
