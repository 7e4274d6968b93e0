/** Client secret rotation with a grace period and secret expiry, driven through the CLI while the server runs. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { eventually, latchkey, latchkeyJson, sleep } from './helpers.js';

const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };

describe('client secret rotation with grace (CLI against a running server)', () => {
  let srv: TestServer;
  let cli: string[];
  before(async () => {
    srv = await startTestServer();
    cli = ['--data-dir', srv.dataDir, '--db', srv.db];
  });
  after(() => srv.close());

  const token = (id: string, secret: string) => postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });

  it('old and new secrets both work during a 2 s grace; afterwards the old one is invalid_client', async () => {
    const c = (await srv.createClient({ client_name: 'rotating', scope: 's' })) as { client_id: string; client_secret: string };
    const rotated = await latchkeyJson(['clients', 'rotate-secret', '--grace', '2', ...cli, '--', c.client_id]);
    // previous_secrets_expire_at is in whole seconds (RFC 7591 style), rounded down: the end is within the next second.
    const graceEnd = rotated.previous_secrets_expire_at * 1000;
    assert.ok(graceEnd > Date.now(), 'grace still running');
    assert.match(rotated.client_secret, /^lk_[A-Za-z0-9_-]{43,}$/);
    assert.equal(rotated.client_secrets_active, 2);
    // SPEC §4: a CLI change reaches running servers within 1 s.
    assert.ok(await eventually(async () => (await token(c.client_id, rotated.client_secret)).status === 200, 1000), 'new secret works within 1 s');
    if (Date.now() < graceEnd - 300) {
      const old = await token(c.client_id, c.client_secret);
      assert.equal(old.status, 200, 'old secret still works inside the grace period');
    }
    while (Date.now() < graceEnd + 1050) await sleep(50);
    const old = await token(c.client_id, c.client_secret);
    assert.equal(old.status, 401);
    assert.deepEqual(old.json, INVALID_CLIENT);
    // Introspection and revocation use the same client authentication: the old secret fails there too.
    const intro = await postForm(`${srv.url}/oauth2/introspect`, { token: 'x' }, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(intro.status, 401);
    const fresh = await token(c.client_id, rotated.client_secret);
    assert.equal(fresh.status, 200);
    const shown = await latchkeyJson(['clients', 'show', ...cli, '--', c.client_id]);
    assert.equal(shown.client_secrets_active, 1);
    assert.equal(shown.client_secret, undefined, 'show never prints a secret');
  });

  it('--grace 0 (the default) ends the old secret at once', async () => {
    const c = (await srv.createClient({ client_name: 'leaked', scope: 's' })) as { client_id: string; client_secret: string };
    const rotated = await latchkeyJson(['clients', 'rotate-secret', ...cli, '--', c.client_id]);
    assert.ok(await eventually(async () => (await token(c.client_id, c.client_secret)).status === 401, 1000), 'old secret dead within 1 s');
    assert.equal((await token(c.client_id, rotated.client_secret)).status, 200);
  });

  it('--expires-in gives the new secret an expiry of its own (client_secret_expires_at, RFC 7591 §3.2.1)', async () => {
    const c = (await srv.createClient({ client_name: 'expiring', scope: 's' })) as { client_id: string; client_secret: string };
    const rotated = await latchkeyJson(['clients', 'rotate-secret', '--expires-in', '2', ...cli, '--', c.client_id]);
    const exp = rotated.client_secret_expires_at * 1000;
    assert.ok(exp > Date.now() && exp <= Date.now() + 2500, 'expiry about 2 s ahead');
    assert.ok(await eventually(async () => (await token(c.client_id, rotated.client_secret)).status === 200, 1000));
    while (Date.now() < exp + 1050) await sleep(50);
    const r = await token(c.client_id, rotated.client_secret);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, INVALID_CLIENT);
  });

  it('a rotation is audited without the secret', async () => {
    const c = (await srv.createClient({ client_name: 'audited', scope: 's' })) as { client_id: string; client_secret: string };
    const rotated = await latchkeyJson(['clients', 'rotate-secret', '--grace', '30', ...cli, '--', c.client_id]);
    const r = await latchkey(['audit', `--client=${c.client_id}`, '--json', ...cli]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(rotated.client_secret) && !r.stdout.includes(c.client_secret), 'no secret in the audit log');
    const recs = JSON.parse(r.stdout) as { action: string; actor: string; after: Record<string, unknown> }[];
    assert.deepEqual(
      recs.map((x) => x.action),
      ['client.rotate_secret', 'client.create'],
    );
    assert.equal(recs[0]!.after.grace_seconds, 30);
    assert.match(recs[0]!.actor, /^cli:/);
  });
});
