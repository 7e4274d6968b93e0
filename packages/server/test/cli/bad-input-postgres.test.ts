import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PG_URL, pgAvailable } from '../helpers/harness.js';
import { ctx, env, runCli, setUp } from './bad-input-cases.js';

// Issue #17 item 5: "store unavailable" names the PostgreSQL host, port and database and the cause.
setUp();

describe('PostgreSQL: a database that does not exist', () => {
  it('is named with its host and port, and nothing is created', { timeout: 60_000 }, async (t) => {
    if (!(await pgAvailable())) return t.skip('PostgreSQL not reachable');
    const u = new URL(PG_URL);
    u.pathname = `/lk_missing_${randomBytes(4).toString('hex')}`;
    const r = await runCli(['clients', 'list', '--db', u.toString(), '--data-dir', join(ctx.root, 'pgx')], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^latchkey: store unavailable: PostgreSQL at ${u.hostname}:${u.port || 5432}/lk_missing_\\w+: the database does not exist`));
    assert.equal(existsSync(join(ctx.root, 'pgx')), false);
  });
});
