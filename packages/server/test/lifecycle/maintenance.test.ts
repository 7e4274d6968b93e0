/** Scheduled signing-key rotation and background clean-up on several nodes sharing one store (keys/rotate.ts). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import { basic, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { Maintenance } from '../../src/keys/rotate.js';
import { opaqueTokenHash } from '../../src/tokens/mint.js';
import { latchkey } from './helpers.js';

for (const store of (process.env.LK_STORES?.split(',') ?? ['sqlite', 'postgres']) as ('sqlite' | 'postgres')[]) {
  describe(`maintenance on two nodes — ${store}`, async () => {
    const skip = store === 'postgres' && !(await pgAvailable());
    let n1: TestServer;
    let n2: TestServer;
    // The timers are effectively off (1 h); the tests drive passes explicitly with chosen times.
    const config = { keyRotationPeriod: 3600, keyPrePublish: 600, maintenanceInterval: 3600 };
    before(async () => {
      if (skip) return;
      n1 = await startTestServer({ store, config });
      n2 = await startTestServer({ db: n1.db, dataDir: n1.dataDir, config: { ...config, issuer: n1.issuer } });
      // No background passes of their own: every pass below is driven explicitly.
      await n1.services.maintenance!.stop();
      await n2.services.maintenance!.stop();
    });
    after(async () => {
      if (skip) return;
      await n2.close();
      await n1.close();
    });

    it('a due rotation happens exactly once however many nodes find it due; both nodes then agree on the signer', { skip }, async () => {
      const m1 = new Maintenance(n1.services, { rotationPeriodSeconds: 3600, prePublishSeconds: 600, intervalMs: 3_600_000 });
      const m2 = new Maintenance(n2.services, { rotationPeriodSeconds: 3600, prePublishSeconds: 600, intervalMs: 3_600_000 });
      const [k0] = n1.services.keyring.list();
      const notYet = k0!.activate_at + (3600 - 600) * 1000 - 1;
      assert.deepEqual(await Promise.all([m1.rotateIfDue(notYet), m2.rotateIfDue(notYet)]), [undefined, undefined]);
      const due = k0!.activate_at + (3600 - 600) * 1000;
      const results = await Promise.all([m1.rotateIfDue(due), m2.rotateIfDue(due), m1.rotateIfDue(due + 1000), m2.rotateIfDue(due + 5000)]);
      const made = results.filter(Boolean);
      assert.equal(made.length, 1, 'one rotation for one due key');
      const k1 = made[0]!;
      assert.equal(k1.activate_at - k1.publish_at, 600_000, 'published keyPrePublish before it signs');
      await n1.sync();
      await n2.sync();
      const keys = await n1.services.store.listKeys();
      assert.equal(keys.length, 2);
      // Time-derived state: every node computes the same signer for the same instant (checked in time order:
      // the keyring caches its signer until the next activation).
      for (const [t, kid] of [
        [Date.now(), k0!.kid],
        [k1.activate_at - 1, k0!.kid],
        [k1.activate_at, k1.kid],
        [k1.activate_at + 3_600_000, k1.kid],
      ] as const) {
        assert.equal(n1.services.keyring.signer(t).kid, kid);
        assert.equal(n2.services.keyring.signer(t).kid, kid);
      }
      await n1.services.keyring.load();
      await n2.services.keyring.load();
      // The audit names the scheduler, the key it replaced and the new one.
      const audit = (await n1.services.store.queryAudit({ target: k1.kid })).filter((a) => a.action === 'key.rotate');
      assert.equal(audit.length, 1);
      assert.match(audit[0]!.actor, /^scheduler:/);
      assert.equal(audit[0]!.before!.kid, k0!.kid);
      assert.equal(audit[0]!.after!.reason, 'schedule');
      // The next rotation is due one period after k1 starts signing, not before.
      assert.equal(await m2.rotateIfDue(k1.activate_at + (3600 - 600) * 1000 - 1), undefined);
    });

    it('the real timer rotates on schedule (period 3 s, pre-publication 1 s) and tokens follow the new key', { skip }, async () => {
      const fast = new Maintenance(n1.services, { rotationPeriodSeconds: 3, prePublishSeconds: 1, intervalMs: 250 });
      const fast2 = new Maintenance(n2.services, { rotationPeriodSeconds: 3, prePublishSeconds: 1, intervalMs: 250 });
      const before = new Set((await n1.services.store.listKeys()).map((k) => k.kid));
      // Make the newest key old enough that a rotation is due now.
      const all = (await n1.services.store.listKeys()).sort((a, b) => b.activate_at - a.activate_at);
      for (const [i, k] of all.entries()) {
        const at = Date.now() - 10_000 - i * 1000;
        await n1.services.store.updateKey(k.kid, { activate_at: at, publish_at: at });
      }
      await n1.sync();
      await n2.sync();
      fast.start();
      fast2.start();
      try {
        let created: string | undefined;
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && !created) {
          await new Promise((r) => setTimeout(r, 100));
          created = (await n1.services.store.listKeys()).find((k) => !before.has(k.kid))?.kid;
        }
        assert.ok(created, 'the schedule created a key');
        const rec = (await n1.services.store.listKeys()).find((k) => k.kid === created)!;
        assert.equal(rec.activate_at - rec.publish_at, 1000);
        while (Date.now() < rec.activate_at + 300) await new Promise((r) => setTimeout(r, 50));
        await n2.sync();
        const t = await postForm(`${n2.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(n2.admin.client_id, n2.admin.client_secret) });
        assert.equal(t.status, 200);
        assert.equal(decodeProtectedHeader(t.json.access_token).kid, created, 'node 2 signs with the key node 1 (or 2) created');
      } finally {
        await fast.stop();
        await fast2.stop();
      }
      const newKeys = (await n1.services.store.listKeys()).filter((k) => !before.has(k.kid));
      const sorted = newKeys.map((k) => k.activate_at).sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]! - sorted[i - 1]! >= 2500, 'no duplicate rotation from the second node');
    });

    it('clean-up: expired opaque tokens, revocations, single-use values, secrets and keys go; live ones stay; one node per slot', { skip }, async () => {
      const st = n1.services.store;
      const now = Date.now();
      const sec = Math.floor(now / 1000);
      const c = (await n1.createClient({ client_name: 'cleanup', scope: 's', access_token_format: 'opaque' })) as { client_id: string };
      const tok = (jti: string, exp: number) => ({ token_hash: opaqueTokenHash(jti), jti, client_id: c.client_id, scope: 's', aud: ['a'], iat: exp - 60, exp, cnf: null, token_type: 'Bearer' });
      await st.insertOpaqueTokens([tok('dead', sec - 5), tok('live', sec + 600)]);
      await st.revokeJti('dead-jti', c.client_id, sec - 5);
      await st.revokeJti('live-jti', c.client_id, sec + 600);
      assert.equal(await st.useOnce('dead-once', sec - 5), true);
      assert.equal(await st.useOnce('live-once', sec + 600), true);
      await n1.services.clients.refresh(c.client_id);
      // A retired key whose tokens have all expired.
      const doomed = await n1.services.keyring.rotate({ prePublishSeconds: 0 });
      await n1.services.keyring.rotate({ prePublishSeconds: 0 });
      await st.updateKey(doomed.kid, { expires_at: now - 1000 });
      // An expired secret (rotation with no grace): the old one expires now.
      const svc = new (await import('../../src/management/clients.service.js')).ClientService(n1.services);
      const secretClient = (await n1.createClient({ client_name: 'sec', scope: 's' })) as { client_id: string };
      await svc.rotateSecret(secretClient.client_id, 'test', { graceSeconds: 0 });
      assert.equal((await st.listSecrets(secretClient.client_id)).length, 2);

      const m1 = new Maintenance(n1.services, { rotationPeriodSeconds: 0, prePublishSeconds: 0, intervalMs: 3_600_000 });
      const m2 = new Maintenance(n2.services, { rotationPeriodSeconds: 0, prePublishSeconds: 0, intervalMs: 3_600_000 });
      const later = Date.now() + 10;
      const [r1, r2] = await Promise.all([m1.tick(later), m2.tick(later)]);
      const winner = r1.cleaned ? r1 : r2;
      assert.equal([r1.cleaned, r2.cleaned].filter(Boolean).length, 1, 'exactly one node cleans per slot');
      assert.ok(winner.deleted.opaqueTokens >= 1 && winner.deleted.revocations >= 1 && winner.deleted.useOnce >= 1 && winner.deleted.secrets >= 1);
      assert.deepEqual(winner.deleted.keys, [doomed.kid]);
      assert.equal(await st.getOpaqueToken(opaqueTokenHash('dead')), undefined);
      assert.ok(await st.getOpaqueToken(opaqueTokenHash('live')));
      assert.equal(await st.isJtiRevoked('dead-jti'), false);
      assert.equal(await st.isJtiRevoked('live-jti'), true);
      assert.equal(await st.useOnce('dead-once', sec + 600), true, 'expired single-use value is gone (reusable)');
      assert.equal(await st.useOnce('live-once', sec + 600), false, 'live single-use value stays');
      assert.equal((await st.listSecrets(secretClient.client_id)).length, 1);
      assert.ok(!(await st.listKeys()).some((k) => k.kid === doomed.kid));
      const pruneAudit = (await st.queryAudit({ target: doomed.kid })).find((a) => a.action === 'key.prune');
      assert.ok(pruneAudit, 'key removal is audited');
      // `latchkey audit --json` shows the scheduler's records.
      const out = await latchkey(['audit', '--json', '--data-dir', n1.dataDir, '--db', n1.db]);
      assert.equal(out.code, 0, out.stderr);
      const actions = (JSON.parse(out.stdout) as { action: string; target: string }[]).map((a) => `${a.action} ${a.target}`);
      assert.ok(actions.includes(`key.prune ${doomed.kid}`));
    });
  });
}
