/** Every client and key lifecycle event writes an audit record, shown by `latchkey audit --json` (issue 3 §6). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { latchkey, latchkeyJson } from './helpers.js';

interface Audit {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

describe('audit trail of lifecycle events (CLI)', () => {
  let srv: TestServer;
  let cli: string[];
  before(async () => {
    srv = await startTestServer({ config: { keyRotationPeriod: 86_400, keyPrePublish: 60 } });
    cli = ['--data-dir', srv.dataDir, '--db', srv.db];
  });
  after(() => srv.close());

  it('create, update, disable, enable, rotate-secret, delete, keys rotate (CLI) and a scheduled rotation: who, what, when, before/after, no secret', async () => {
    const lastBefore = Math.max(0, ...(await srv.services.store.queryAudit()).map((a) => a.id!));
    const id = 'audit-subject';
    const created = await latchkeyJson(['clients', 'create', '--name', 'Audited', '--client-id', id, '--scope', 'a b', ...cli]);
    await latchkeyJson(['clients', 'update', id, '--scope', 'a', ...cli]);
    await latchkeyJson(['clients', 'disable', id, ...cli]);
    await latchkeyJson(['clients', 'enable', id, ...cli]);
    const rotated = await latchkeyJson(['clients', 'rotate-secret', id, '--grace', '10', ...cli]);
    await latchkeyJson(['clients', 'delete', id, ...cli]);
    const key = await latchkeyJson(['keys', 'rotate', ...cli]);
    // A scheduled rotation, due once the manual key has been signing for period − pre-publication.
    const manualActivation = Date.parse(key.activate_at);
    const scheduled = await srv.services.maintenance!.rotateIfDue(manualActivation + (86_400 - 60) * 1000);
    assert.ok(scheduled);

    const r = await latchkey(['audit', '--json', ...cli]);
    assert.equal(r.code, 0, r.stderr);
    for (const secret of [created.client_secret, rotated.client_secret]) assert.ok(!r.stdout.includes(secret), 'no secret in the audit output');
    assert.ok(!/hash|sealed/.test(r.stdout), 'no secret hashes or sealed values either');
    const recs = (JSON.parse(r.stdout) as Audit[]).filter((a) => a.id > lastBefore);
    const summary = recs.map((a) => `${a.action} ${a.target}`);
    assert.deepEqual(summary, [
      `key.rotate ${scheduled.kid}`,
      `key.rotate ${key.kid}`,
      `client.delete ${id}`,
      `client.rotate_secret ${id}`,
      `client.enable ${id}`,
      `client.disable ${id}`,
      `client.update ${id}`,
      `client.create ${id}`,
    ]);
    const by = (action: string) => recs.find((a) => a.action === action)!;
    for (const a of recs) {
      assert.ok(Math.abs(Date.parse(a.at) - Date.now()) < 120_000, 'when');
      assert.match(a.actor, a.action === 'key.rotate' && a.target === scheduled.kid ? /^scheduler:/ : /^cli:/, 'who');
    }
    assert.equal(by('client.create').before, null);
    assert.equal(by('client.create').after!.scope, 'a b');
    assert.equal(by('client.update').before!.scope, 'a b');
    assert.equal(by('client.update').after!.scope, 'a');
    assert.equal(by('client.disable').after!.disabled, true);
    assert.equal(by('client.enable').before!.disabled, true);
    assert.equal(by('client.enable').after!.disabled, false);
    assert.equal(by('client.rotate_secret').after!.grace_seconds, 10);
    assert.equal(by('client.delete').after, null);
    assert.equal(by('client.delete').before!.client_id, id);
    assert.equal(recs[0]!.before!.kid, key.kid, 'the scheduled rotation names the key it follows');

    // Filters: --client and --since.
    const only = await latchkeyJson<Audit[]>(['audit', `--client=${id}`, ...cli]);
    assert.equal(only.length, 6);
    assert.ok(only.every((a) => a.target === id));
    const none = await latchkeyJson<Audit[]>(['audit', '--since', new Date(Date.now() + 60_000).toISOString(), ...cli]);
    assert.deepEqual(none, []);
  });
});
