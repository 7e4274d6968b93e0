/** `latchkey registration-tokens …` on the store, and `latchkey clients … --server URL` through the admin API. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { api, tokenFor } from './helpers.js';

describe('CLI: registration-tokens and clients --server', () => {
  let srv: TestServer;
  let admin: string;
  let remote: string[];

  before(async () => {
    srv = await startTestServer();
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    remote = ['--server', srv.url, '--admin-client-id', srv.admin.client_id, '--admin-client-secret', srv.admin.client_secret, '--json'];
  });
  after(() => srv.close());

  it('registration-tokens create --json prints the token once; it registers a client at the running server', async () => {
    const r = await runCli(['registration-tokens', 'create', '--data-dir', srv.dataDir, '--scope', 'jobs:run', '--audience', 'https://jobs.example.com', '--ttl', '600', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout);
    assert.match(t.token, /^lki_/);
    assert.equal(t.scope, 'jobs:run');
    assert.match(t.created_by, /^cli:/);
    const reg = await fetch(`${srv.url}/oauth2/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'from-cli-token' }),
    });
    assert.equal(reg.status, 201);
    assert.equal(((await reg.json()) as { scope: string }).scope, 'jobs:run');
    const list = await runCli(['registration-tokens', 'list', '--data-dir', srv.dataDir, '--json']);
    const listed = JSON.parse(list.stdout);
    assert.ok(listed.some((x: any) => x.id === t.id));
    assert.equal(list.stdout.includes(t.token), false, 'never listed again');
    const bad = await runCli(['registration-tokens', 'create', '--data-dir', srv.dataDir, '--scope', 'a"b', '--audience', 'https://jobs.example.com', '--json']);
    assert.equal(bad.code, 1);
    assert.match(JSON.parse(bad.stdout).error_description, /--scope must be space-separated scope tokens/);
    const del = await runCli(['registration-tokens', 'delete', t.id, '--data-dir', srv.dataDir, '--json']);
    assert.equal(del.code, 0);
    assert.deepEqual(JSON.parse(del.stdout), { id: t.id, deleted: true });
  });

  it('clients create/list/show/update/disable/enable/rotate-secret/delete --server go through /admin/v1', async () => {
    // Generated client ids are base64url and may start with '-': pass them after '--'.
    const c = await runCli(['clients', 'create', '--name', 'remote-made', '--scope', 'x y', '--audience', 'https://x.example', ...remote]);
    assert.equal(c.code, 0, c.stderr + c.stdout);
    const created = JSON.parse(c.stdout);
    assert.match(created.client_secret, /^lk_/);
    const id = created.client_id;
    // The audit log shows the admin API actor, not a CLI user: the change went through the server.
    const audit = await api(srv, 'GET', `/audit?client=${id}`, { token: admin });
    assert.equal(audit.json.records[0].actor, `admin:${srv.admin.client_id}`);

    const list = JSON.parse((await runCli(['clients', 'list', '--search', 'remote-made', ...remote])).stdout);
    assert.equal(list.total, 1);
    assert.equal(list.clients[0].client_id, id);
    const upd = JSON.parse((await runCli(['clients', 'update', '--scope', 'x y z', ...remote, '--', id])).stdout);
    assert.equal(upd.scope, 'x y z');
    assert.equal(JSON.parse((await runCli(['clients', 'disable', ...remote, '--', id])).stdout).disabled, true);
    assert.equal((await api(srv, 'GET', `/clients/${id}`, { token: admin })).json.disabled, true);
    assert.equal(JSON.parse((await runCli(['clients', 'enable', ...remote, '--', id])).stdout).disabled, false);
    const rot = JSON.parse((await runCli(['clients', 'rotate-secret', '--grace', '60', ...remote, '--', id])).stdout);
    assert.notEqual(rot.client_secret, created.client_secret);
    assert.equal(rot.client_secrets_active, 2);
    const show = JSON.parse((await runCli(['clients', 'show', ...remote, '--', id])).stdout);
    assert.equal(show.client_secret, undefined);
    assert.equal(show.scope, 'x y z');
    assert.equal((await runCli(['clients', 'delete', ...remote, '--', id])).code, 0);
    const gone = await runCli(['clients', 'show', ...remote, '--', id]);
    assert.equal(gone.code, 1);
    assert.equal(JSON.parse(gone.stdout).error, 'not_found');
  });

  it('--server errors are the admin API errors; missing credentials are explained', async () => {
    const bad = await runCli(['clients', 'create', '--name', 'x', '--scope', 'a', '--default-scope', 'b', ...remote]);
    // Metadata the server refuses is a bad argument: exit 2, as on the local (store) path (SPEC §4).
    assert.equal(bad.code, 2);
    assert.deepEqual(JSON.parse(bad.stdout), { error: 'invalid_client_metadata', error_description: 'default_scope: "b" is not in scope' });
    const wrong = await runCli(['clients', 'list', '--server', srv.url, '--admin-client-id', srv.admin.client_id, '--admin-client-secret', 'lk_wrong', '--json']);
    assert.equal(wrong.code, 1);
    assert.equal(JSON.parse(wrong.stdout).error, 'invalid_client');
    const none = await runCli(['clients', 'list', '--server', srv.url], { LATCHKEY_ADMIN_CLIENT_ID: '', LATCHKEY_ADMIN_CLIENT_SECRET: '', LATCHKEY_ADMIN_TOKEN: '' });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--server needs --admin-token or --admin-client-id and --admin-client-secret/);
    const withToken = await runCli(['clients', 'list', '--server', srv.url, '--json'], { LATCHKEY_ADMIN_TOKEN: admin });
    assert.equal(withToken.code, 0);
    assert.ok(JSON.parse(withToken.stdout).total >= 1);
  });
});
