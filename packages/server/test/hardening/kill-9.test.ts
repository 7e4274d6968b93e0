import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/app/server.js';
import { ClientService } from '../../src/management/clients.service.js';
import { closeRuntime, openRuntime } from '../../src/app/runtime.js';
import { basic } from '../helpers/harness.js';
import { spawnNode } from '../helpers/nodes.js';

const KILLS = Number(process.env.LATCHKEY_KILL_RUNS ?? 20);

/** SPEC §6: nothing acknowledged is lost on kill -9 and restart (SQLite, WAL, synchronous=FULL). */
describe(`kill -9 during writes, ${KILLS} times (SQLite)`, () => {
  it('restarts within 5 s, integrity_check ok, every acknowledged write present, nothing phantom', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-kill-'));
    const kek = randomBytes(32).toString('base64url');
    const db = `sqlite:${join(dataDir, 'latchkey.db')}`;
    try {
      const admin = await openRuntime(loadConfig({ dataDir, kek, logLevel: 'silent' }, {}), createLogger('silent'));
      const c = (await new ClientService(admin).create({ client_name: 'opq', scope: 'a', access_token_format: 'opaque' }, 'test')) as {
        client_id: string;
        client_secret: string;
      };
      await closeRuntime(admin);
      let sent = 0;
      const acknowledged = new Set<string>();
      const auth = basic(c.client_id, c.client_secret);
      for (let round = 0; round < KILLS; round++) {
        const t0 = Date.now();
        const node = await spawnNode({ db, dataDir, kek });
        assert.ok(Date.now() - t0 < 5000, `restart took ${Date.now() - t0} ms`);
        // Writes in flight when the kill lands: 8 concurrent issuers of opaque tokens (each one a durable row).
        let killed = false;
        const writers = [...Array(8)].map(async () => {
          while (!killed) {
            try {
              sent++;
              const r = await fetch(`${node.url}/oauth2/token`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
                body: 'grant_type=client_credentials',
              });
              const text = await r.text();
              if (r.status === 200) {
                const tok = JSON.parse(text).access_token as string;
                acknowledged.add(createHash('sha256').update(tok).digest('base64url'));
              } else assert.fail(`unexpected status ${r.status}: ${text}`);
            } catch (e) {
              if (!killed) throw e;
            }
          }
        });
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 250));
        killed = true;
        await node.stop('SIGKILL');
        await Promise.all(writers);
        const sqlite = new Database(join(dataDir, 'latchkey.db'));
        try {
          assert.equal(sqlite.pragma('integrity_check', { simple: true }), 'ok');
          const rows = sqlite.prepare('select token_hash from opaque_tokens').all() as { token_hash: string }[];
          const stored = new Set(rows.map((r) => r.token_hash));
          for (const h of acknowledged) assert.ok(stored.has(h), `acknowledged token lost in round ${round}`);
          // Rows committed whose response the kill swallowed are allowed; more rows than requests would be phantom.
          assert.ok(stored.size <= sent, `phantom rows: ${stored.size} stored for ${sent} requests`);
          assert.ok(stored.size >= acknowledged.size);
        } finally {
          sqlite.close();
        }
      }
      assert.ok(acknowledged.size > KILLS, `acknowledged writes: ${acknowledged.size}`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
