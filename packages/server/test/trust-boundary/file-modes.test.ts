import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { basic, postForm, startTestServer } from '../helpers/harness.js';

const mode = (p: string) => statSync(p).mode & 0o777;

/** Issue #14 item 6: data dir 0700, SQLite database + WAL/SHM and the KEK file 0600 — also fixed on existing installs. */
describe('file modes of the data directory', { skip: process.platform === 'win32' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'latchkey-modes-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a fresh data dir is 0700; latchkey.db, -wal, -shm and kek are 0600 (umask 022 notwithstanding)', async () => {
    const dataDir = join(root, 'fresh', 'data');
    const old = process.umask(0o022);
    try {
      const srv = await startTestServer({ dataDir, config: { kek: undefined } });
      try {
        // Write something so the WAL is in use.
        const c = await srv.createClient({ client_name: 'm', scope: 'a' });
        assert.equal((await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret!) })).status, 200);
        assert.equal(mode(dataDir), 0o700);
        for (const f of ['latchkey.db', 'latchkey.db-wal', 'latchkey.db-shm', 'kek']) {
          const p = join(dataDir, f);
          assert.ok(existsSync(p), `${f} exists`);
          assert.equal(mode(p), 0o600, `${f}: ${mode(p).toString(8)}`);
        }
      } finally {
        await srv.close();
      }
    } finally {
      process.umask(old);
    }
  });

  it('an existing 0755 dir and 0644 files are fixed on start, with one warning per path', async () => {
    const dataDir = join(root, 'old');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    // A first start creates the files; then loosen them as an older version left them.
    const first = await startTestServer({ dataDir, config: { kek: undefined } });
    await first.close();
    chmodSync(dataDir, 0o755);
    for (const f of ['latchkey.db', 'kek']) chmodSync(join(dataDir, f), 0o644);
    writeFileSync(join(dataDir, 'latchkey.db-wal'), '', { flag: 'a' });
    chmodSync(join(dataDir, 'latchkey.db-wal'), 0o644);
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter(Boolean)));
    const srv = await startTestServer({ dataDir, logStream: stream, config: { kek: undefined, logLevel: 'warn' } });
    try {
      assert.equal(mode(dataDir), 0o700);
      for (const f of ['latchkey.db', 'latchkey.db-wal', 'kek']) assert.equal(mode(join(dataDir, f)), 0o600, f);
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg);
      assert.ok(warnings.some((m) => m.includes(`data directory ${dataDir} had mode 0755: changed to 0700`)), warnings.join('\n'));
      assert.ok(warnings.some((m) => m.includes(`${join(dataDir, 'kek')} had mode 0644: changed to 0600`)), warnings.join('\n'));
      assert.ok(warnings.some((m) => m.includes(`${join(dataDir, 'latchkey.db')} had mode 0644`)), warnings.join('\n'));
    } finally {
      await srv.close();
    }
  });
});
