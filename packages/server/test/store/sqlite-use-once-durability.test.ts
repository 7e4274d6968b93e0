import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/**
 * docs/decisions.md "Single-use jti without an fsync": on SQLite the batched single-use write commits with
 * synchronous=NORMAL. What that keeps: a jti acknowledged before the process is killed (SIGKILL, no clean-up)
 * is still refused after a restart. What it must not change: every other write stays synchronous=FULL.
 */
const dir = mkdtempSync(join(tmpdir(), 'latchkey-once-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = fileURLToPath(new URL('../../src/store/sqlite/sqlite-store.ts', import.meta.url));

describe('SQLite single-use values without an fsync', () => {
  it('a jti recorded by useOnceMany survives kill -9 of the process that recorded it', async () => {
    const path = join(dir, 'kill.db');
    const exp = Math.floor(Date.now() / 1000) + 600;
    // The child records the keys, reports which won, then kills itself without closing the database.
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { SqliteStore } = await import(${JSON.stringify(store)});
         const s = new SqliteStore(${JSON.stringify(path)});
         await s.migrate();
         const won = await s.useOnceMany([{ key: 'jti-a', exp: ${exp} }, { key: 'jti-b', exp: ${exp} }]);
         process.stdout.write([...won].sort().join(',') + '\\n');
         process.kill(process.pid, 'SIGKILL');`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    assert.equal(child.stdout.trim(), 'jti-a,jti-b', child.stderr);
    const s = new SqliteStore(path);
    try {
      const won = await s.useOnceMany([{ key: 'jti-a', exp }, { key: 'jti-c', exp }]);
      assert.deepEqual([...won], ['jti-c'], 'an acknowledged jti was forgotten by a process crash');
    } finally {
      await s.close();
    }
  });

  it('after useOnceMany, ordinary writes are synchronous=FULL again (also when the batch fails)', async () => {
    const s = new SqliteStore(join(dir, 'sync.db'));
    try {
      await s.migrate();
      const exp = Math.floor(Date.now() / 1000) + 60;
      await s.useOnceMany([{ key: 'k', exp }]);
      assert.equal(s.sqlite.pragma('synchronous', { simple: true }), 2, 'FULL is 2');
      // A value SQLite refuses (exp must be an integer column value; an object cannot be bound) fails the batch.
      await assert.rejects(s.useOnceMany([{ key: 'bad', exp: {} as unknown as number }]));
      assert.equal(s.sqlite.pragma('synchronous', { simple: true }), 2);
    } finally {
      await s.close();
    }
  });
});
