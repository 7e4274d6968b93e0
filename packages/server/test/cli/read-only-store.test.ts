import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ctx, env, runCli, setUp } from './bad-input-cases.js';

// Issue #17 item 5: read commands never create a store; start never writes a KEK next to a store in use.
setUp();
describe('read commands never create a store', () => {
  const READS: string[][] = [['clients', 'list'], ['clients', 'show', 'x'], ['clients', 'export'], ['keys', 'list'], ['audit'], ['registration-tokens', 'list'], ['trust', 'list'], ['trust', 'show', 'x']];
  it('a typo in --data-dir / --db: non-zero, names the path, nothing created', { timeout: 170_000 }, async () => {
    for (let i = 0; i < READS.length; i += 2) {
      await Promise.all(
        READS.slice(i, i + 2).map(async (cmd) => {
          const typo = join(ctx.root, `typo-${cmd.join('-')}`);
          const viaDataDir = await runCli([...cmd, '--data-dir', typo], env);
          assert.notEqual(viaDataDir.code, 0, cmd.join(' '));
          assert.match(viaDataDir.stderr, new RegExp(`^latchkey: no store at ${typo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/latchkey\\.db`), cmd.join(' '));
          const viaDb = await runCli([...cmd, '--db', `sqlite:${join(typo, 'other.db')}`, '--data-dir', typo], env);
          assert.notEqual(viaDb.code, 0, cmd.join(' '));
          assert.match(viaDb.stderr, /other\.db/);
          assert.equal(existsSync(typo), false, `${cmd.join(' ')} created ${typo}`);
        }),
      );
    }
  });

  it('an existing store is read as before', async () => {
    const r = await runCli(['clients', 'list', '--data-dir', ctx.good, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { clients: { client_id: string }[] }).clients.some((c) => c.client_id === 'seed-client'));
  });
});

describe('start never writes a KEK next to a store already in use', () => {
  it('missing kek file with an existing database: refused naming the kek setting; no kek written', { timeout: 60_000 }, async () => {
    const dir = join(ctx.root, 'kekless');
    // A store made with the file KEK (no LATCHKEY_KEK), then the kek file lost.
    const made = await runCli(['clients', 'create', '--name', 'a', '--data-dir', dir], { LATCHKEY_LOG_LEVEL: 'silent' });
    assert.equal(made.code, 0, made.stderr);
    assert.ok(existsSync(join(dir, 'kek')));
    const copy = join(ctx.root, 'kekless-copy');
    cpSync(dir, copy, { recursive: true });
    unlinkSync(join(copy, 'kek'));
    const r = await runCli(['start', '--port', '0', '--workers', '1', '--issuer', 'http://127.0.0.1:9', '--data-dir', copy], { LATCHKEY_LOG_LEVEL: 'silent' });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^latchkey: invalid setting "kek" \(LATCHKEY_KEK\): the store already holds/);
    assert.equal(existsSync(join(copy, 'kek')), false, 'a new kek was written');
    assert.deepEqual(readdirSync(copy).filter((f) => f === 'kek'), []);
  });
});
