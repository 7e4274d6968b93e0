/**
 * A revocation that cannot be stored is a 503, never a 200 (SPEC §3, RFC 7009 §2.2.1); introspection
 * of opaque tokens needs the store (503), of JWTs does not. Real outage: the test database stops
 * accepting connections and its sessions are terminated; then it comes back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { basic, PG_URL, pgAvailable, postForm, startTestServer, type TestServer } from '../helpers/harness.js';

describe('store outage during revocation and introspection (PostgreSQL)', async () => {
  const skip = !(await pgAvailable());
  let srv: TestServer;
  let dbName: string;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const down = async () => {
    await admin(`alter database ${dbName} allow_connections false`);
    await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${dbName}' and pid <> pg_backend_pid()`);
  };
  const up = () => admin(`alter database ${dbName} allow_connections true`);

  before(async () => {
    if (skip) return;
    srv = await startTestServer({ store: 'postgres' });
    dbName = new URL(srv.db).pathname.slice(1);
  });
  after(async () => {
    if (skip) return;
    await up().catch(() => {});
    await srv.close();
  });

  it('503 temporarily_unavailable while the store is down; recovers by itself', { skip }, async () => {
    const jc = (await srv.createClient({ client_name: 'j', scope: 's' })) as { client_id: string; client_secret: string };
    const oc = (await srv.createClient({ client_name: 'o', scope: 's', access_token_format: 'opaque' })) as { client_id: string; client_secret: string };
    const tok = async (c: { client_id: string; client_secret: string }) =>
      (await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) })).json.access_token as string;
    const jwt = await tok(jc);
    const opaque = await tok(oc);
    const revoke = (c: { client_id: string; client_secret: string }, token: string) => postForm(`${srv.url}/oauth2/revoke`, { token }, { authorization: basic(c.client_id, c.client_secret) });
    const introspect = (c: { client_id: string; client_secret: string }, token: string) =>
      postForm(`${srv.url}/oauth2/introspect`, { token }, { authorization: basic(c.client_id, c.client_secret) });

    await down();
    try {
      for (const r of [await revoke(jc, jwt), await revoke(oc, opaque), await introspect(oc, opaque)]) {
        assert.equal(r.status, 503);
        assert.deepEqual(r.json, { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' });
        assert.equal(r.headers.get('retry-after'), '1');
      }
      // JWT introspection is answered from memory (keys, revocations, clients): it keeps working.
      const j = await introspect(jc, jwt);
      assert.equal(j.status, 200);
      assert.equal(j.json.active, true);
    } finally {
      await up();
    }
    // Nothing was revoked by the failed calls; now it works.
    assert.equal((await introspect(jc, jwt)).json.active, true);
    let r = await revoke(jc, jwt);
    for (let i = 0; i < 20 && r.status === 503; i++) {
      await new Promise((res) => setTimeout(res, 250));
      r = await revoke(jc, jwt);
    }
    assert.equal(r.status, 200);
    assert.equal((await introspect(jc, jwt)).json.active, false);
    assert.equal((await revoke(oc, opaque)).status, 200);
    assert.deepEqual((await introspect(oc, opaque)).json, { active: false });
  });
});
