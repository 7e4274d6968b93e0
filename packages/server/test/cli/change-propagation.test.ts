import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`CLI changes reach a running server within 1 s (${store})`, async () => {
    const skip = store === 'postgres' && !(await pgAvailable());
    let srv: TestServer;
    let storeArgs: string[];

    before(async () => {
      if (skip) return;
      srv = await startTestServer({ store });
      storeArgs = store === 'sqlite' ? ['--data-dir', srv.dataDir] : ['--db', srv.db, '--data-dir', srv.dataDir];
    });
    after(async () => srv?.close());

    const token = (id: string, secret: string, extra: Record<string, string> = {}) =>
      postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', ...extra }, { authorization: basic(id, secret) });

    async function within1s(check: () => Promise<boolean>): Promise<number> {
      const t0 = Date.now();
      while (Date.now() - t0 < 1000) {
        if (await check()) return Date.now() - t0;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail('change not visible within 1 s');
    }

    it('create → usable; disable → refused; enable → usable; new scopes; delete → refused', { skip }, async () => {
      const created = await runCli(['clients', 'create', '--name', 'cli-made', '--scope', 'a b', ...storeArgs, '--json']);
      assert.equal(created.code, 0, created.stderr);
      const c = JSON.parse(created.stdout);
      assert.equal(c.client_name, 'cli-made');
      assert.match(c.client_secret, /^lk_[A-Za-z0-9_-]{43}$/);
      assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
      await within1s(async () => (await token(c.client_id, c.client_secret)).status === 200);

      const dis = await runCli(['clients', 'disable', c.client_id, ...storeArgs, '--json']);
      assert.equal(dis.code, 0, dis.stderr);
      await within1s(async () => (await token(c.client_id, c.client_secret)).status === 401);

      assert.equal((await runCli(['clients', 'enable', c.client_id, ...storeArgs])).code, 0);
      await within1s(async () => (await token(c.client_id, c.client_secret)).status === 200);

      const upd = await runCli(['clients', 'update', c.client_id, '--scope', 'a b c', ...storeArgs, '--json']);
      assert.equal(upd.code, 0, upd.stderr);
      assert.equal(JSON.parse(upd.stdout).scope, 'a b c');
      await within1s(async () => (await token(c.client_id, c.client_secret, { scope: 'c' })).status === 200);

      assert.equal((await runCli(['clients', 'delete', c.client_id, ...storeArgs])).code, 0);
      await within1s(async () => (await token(c.client_id, c.client_secret)).status === 401);
    });

    it('list/show --json use RFC 7591 names and never show secrets', { skip }, async () => {
      const created = JSON.parse((await runCli(['clients', 'create', '--name', 'shown', '--scope', 'x', '--audience', 'https://api.example', ...storeArgs, '--json'])).stdout);
      const shown = await runCli(['clients', 'show', created.client_id, ...storeArgs, '--json']);
      assert.equal(shown.code, 0);
      const s = JSON.parse(shown.stdout);
      assert.equal(s.client_id, created.client_id);
      assert.deepEqual(s.audience, ['https://api.example']);
      assert.deepEqual(s.grant_types, ['client_credentials']);
      assert.equal(s.client_secret, undefined);
      assert.ok(!shown.stdout.includes(created.client_secret));
      const list = await runCli(['clients', 'list', ...storeArgs, '--json']);
      const l = JSON.parse(list.stdout);
      assert.ok(l.clients.some((x: { client_id: string }) => x.client_id === created.client_id));
      assert.ok(!list.stdout.includes(created.client_secret));
      const keys = JSON.parse((await runCli(['keys', 'list', ...storeArgs, '--json'])).stdout);
      assert.equal(keys.length, 1);
      assert.equal(keys[0].state, 'current');
      const missing = await runCli(['clients', 'show', 'does-not-exist', ...storeArgs, '--json']);
      assert.equal(missing.code, 1);
      assert.equal(JSON.parse(missing.stdout).error, 'not_found');
      const bad = await runCli(['clients', 'create', '--name', 'x', '--audience', 'not a uri', ...storeArgs, '--json']);
      // Refused metadata is a bad argument: exit 2 (SPEC §4).
      assert.equal(bad.code, 2);
      // One line naming the field (stdout JSON or the stderr message), never a stack trace.
      assert.match(bad.stdout + bad.stderr, /--audience must be an absolute URL/);
      assert.doesNotMatch(bad.stdout + bad.stderr, /\n\s+at /);
    });
  });
}
