/** SPEC §4: a change made through the admin API reaches every node sharing the store (change feed). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from './helpers.js';

describe('admin API changes propagate to another node', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    a = await startTestServer();
    // Nodes behind one load balancer share the issuer identifier.
    b = await startTestServer({ db: a.db, dataDir: a.dataDir, config: { issuer: a.issuer } });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  /** Polls until `ok()`; the bound only stops a broken build from hanging (no timing assertion). */
  async function eventually(ok: () => Promise<boolean>): Promise<number> {
    const t0 = Date.now();
    while (!(await ok())) {
      if (Date.now() - t0 > 20_000) throw new Error('change never reached the other node');
      await new Promise((r) => setTimeout(r, 25));
    }
    return Date.now() - t0;
  }

  it('create, disable and rotate on node A take effect at node B, and node B accepts node A admin tokens', async () => {
    const admin = await tokenFor(a, a.admin.client_id, a.admin.client_secret, 'latchkey:admin');
    const c = (await api(a, 'POST', '/clients', { token: admin, body: { client_name: 'roaming', scope: 's' } })).json;
    const atB = (secret: string) => postForm(`${b.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, secret) });
    const created = await eventually(async () => (await atB(c.client_secret)).status === 200);
    assert.equal((await api(b, 'GET', `/clients/${c.client_id}`, { token: admin })).status, 200, 'same issuer, same keys: an admin token from A works at B');
    assert.equal((await api(a, 'POST', `/clients/${c.client_id}/disable`, { token: admin })).status, 200);
    const disabled = await eventually(async () => (await atB(c.client_secret)).status === 401);
    assert.equal((await api(a, 'POST', `/clients/${c.client_id}/enable`, { token: admin })).status, 200);
    const rot = (await api(a, 'POST', `/clients/${c.client_id}/rotate-secret`, { token: admin, body: { grace_seconds: 0 } })).json;
    const rotated = await eventually(async () => (await atB(rot.client_secret)).status === 200 && (await atB(c.client_secret)).status === 401);
    process.stdout.write(`# propagation to node B: create ${created} ms, disable ${disabled} ms, rotate ${rotated} ms (poll interval 250 ms)\n`);
  });
});
