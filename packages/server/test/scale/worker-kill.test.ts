import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, fetch as ufetch } from 'undici';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/app/server.js';
import { ClientService } from '../../src/management/clients.service.js';
import { closeRuntime, openRuntime } from '../../src/app/runtime.js';
import { basic } from '../helpers/harness.js';
import { spawnNode } from '../helpers/nodes.js';

const children = (pid: number) =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
    .toString()
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter(Boolean);

/** issue 8: a worker killed with SIGKILL under load is replaced; only its in-flight requests fail. */
describe('latchkey start --workers 2: SIGKILL a worker under load', () => {
  it('the primary replaces it; failures are bounded by the killed worker’s in-flight requests', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-workers-'));
    const kek = randomBytes(32).toString('base64url');
    const db = `sqlite:${join(dataDir, 'latchkey.db')}`;
    const admin = await openRuntime(loadConfig({ dataDir, kek, logLevel: 'silent' }, {}), createLogger('silent'));
    const c = (await new ClientService(admin).create({ client_name: 'w', scope: 'a' }, 'test')) as { client_id: string; client_secret: string };
    await closeRuntime(admin);
    const node = await spawnNode({ db, dataDir, kek, workers: 2 });
    // Each connection is used by one loop at a time, so a failure can only be a request in flight.
    const CONNS = 8;
    const agent = new Agent({ connections: CONNS, pipelining: 1 });
    try {
      let workers: number[] = [];
      for (let i = 0; i < 100 && workers.length < 2; i++) {
        workers = children(node.proc.pid!);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(workers.length, 2, 'two workers');
      let stop = false;
      let ok = 0;
      const failures: string[] = [];
      const loop = async () => {
        while (!stop) {
          try {
            const r = await ufetch(`${node.url}/oauth2/token`, {
              method: 'POST',
              dispatcher: agent,
              headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c.client_id, c.client_secret) },
              body: 'grant_type=client_credentials',
            });
            await r.text();
            if (r.status === 200) ok++;
            else failures.push(`status ${r.status}`);
          } catch (e) {
            failures.push((e as Error).message);
          }
        }
      };
      const loops = [...Array(CONNS)].map(loop);
      await new Promise((r) => setTimeout(r, 1000));
      const victim = workers[0]!;
      process.kill(victim, 'SIGKILL');
      const okBefore = ok;
      // Replacement: a new worker pid appears.
      let replaced = false;
      for (let i = 0; i < 100 && !replaced; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const now = children(node.proc.pid!);
        replaced = now.length === 2 && !now.includes(victim);
      }
      await new Promise((r) => setTimeout(r, 1000));
      stop = true;
      await Promise.all(loops);
      assert.ok(replaced, 'the dead worker was replaced');
      assert.ok(ok > okBefore + 10, 'service continued after the kill');
      // At most one request in flight per connection on the killed worker.
      assert.ok(failures.length <= CONNS, `failures: ${failures.length} (${failures.slice(0, 3).join(' | ')})`);
      assert.ok(failures.every((f) => !f.startsWith('status 5')), failures.join(' | '));
    } finally {
      await agent.close();
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
