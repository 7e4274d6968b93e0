import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { basic, postForm, startTestServer } from '../helpers/harness.js';

function tryMount(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the file system until a write fails (ENOSPC). */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // Squeeze out the last partial chunk too.
  try {
    const fd2 = openSync(path + '.2', 'w');
    try {
      for (;;) writeSync(fd2, Buffer.alloc(512, 1));
    } catch {
      /* full */
    } finally {
      closeSync(fd2);
    }
  } catch {
    /* full */
  }
}

describe('disk full under SQLite (issue 9 faults)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-diskfull-'));
  const mounted = tryMount(dir);
  if (!mounted) process.stderr.write('\n*** disk-full test SKIPPED: cannot mount a tmpfs here (needs root) ***\n\n');

  it('writes → 503, JWT issuance for cached clients continues, no corruption, recovery once space is freed', { skip: !mounted }, async () => {
    const srv = await startTestServer({ dataDir: dir });
    try {
      const jwt = (await srv.createClient({ client_name: 'jwt', scope: 'a' })) as { client_id: string; client_secret: string };
      const opq = (await srv.createClient({ client_name: 'opq', scope: 'a', access_token_format: 'opaque' })) as { client_id: string; client_secret: string };
      const tok = (c: typeof jwt) => postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) });
      assert.equal((await tok(opq)).status, 200);
      fill(join(dir, 'filler'));
      let saw503 = false;
      for (let i = 0; i < 400 && !saw503; i++) {
        const o = await tok(opq);
        assert.ok(o.status === 200 || o.status === 503, `status ${o.status}`);
        if (o.status === 503) {
          saw503 = true;
          assert.deepEqual(Object.keys(o.json).sort(), ['error', 'error_description']);
          assert.equal(o.json.error, 'temporarily_unavailable');
        }
        assert.equal((await tok(jwt)).status, 200, 'JWT issuance continues on a full disk');
      }
      assert.ok(saw503, 'opaque writes fail once the disk is full');
      rmSync(join(dir, 'filler'), { force: true });
      rmSync(join(dir, 'filler.2'), { force: true });
      const t0 = Date.now();
      while ((await tok(opq)).status !== 200) {
        assert.ok(Date.now() - t0 < 10_000, 'recovers once space is freed');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await srv.close();
      const db = new Database(join(dir, 'latchkey.db'));
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        db.close();
      }
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        /* best effort */
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
