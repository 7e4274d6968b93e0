/**
 * Issue #14 item 6, over HTTP on SQLite and PostgreSQL:
 * - admin tokens: the token's scope is intersected with the client's *current* scopes (removing
 *   latchkey:admin takes effect for already-issued tokens at once), and tokens issued before the client
 *   existed are refused (a deleted client's tokens do not come back when its id is reused);
 * - self-lockout guard: the caller's own admin client cannot be disabled by PATCH, lose latchkey:admin
 *   or lose the issuer as its (first) audience — through the admin API and through the console's Save.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pgAvailable, readJson, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Checked once, before any server starts (a busy event loop can time out the 2 s probe).
const PG = await pgAvailable();
for (const store of ['sqlite', 'postgres'] as const) {
  describe(`admin tokens and the self-lockout guard on ${store}`, { skip: store === 'postgres' && !PG }, () => {
    let srv: TestServer;
    let admin: string;

    before(async () => {
      srv = await startTestServer({ store });
      admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    });
    after(() => srv.close());

    const newAdmin = async (clientId?: string) => {
      const c = await api(srv, 'POST', '/clients', {
        token: admin,
        body: { ...(clientId ? { client_id: clientId } : {}), client_name: 'second admin', scope: 'latchkey:admin reports:read', audience: [srv.issuer] },
      });
      assert.equal(c.status, 201, JSON.stringify(c.json));
      await srv.sync();
      return c.json as { client_id: string; client_secret: string };
    };

    it("removing latchkey:admin from a client takes effect for its already-issued tokens at once (JWT and opaque)", async () => {
      const c = await newAdmin();
      const jwt = await tokenFor(srv, c.client_id, c.client_secret, 'latchkey:admin');
      assert.equal((await api(srv, 'GET', '/clients?limit=1', { token: jwt })).status, 200);
      const patched = await api(srv, 'PATCH', `/clients/${encodeURIComponent(c.client_id)}`, { token: admin, body: { scope: 'reports:read' } });
      assert.equal(patched.status, 200);
      // No wait for the change feed: the very next request is refused.
      const r = await api(srv, 'GET', '/clients?limit=1', { token: jwt });
      assert.equal(r.status, 403);
      assert.equal(r.json.error, 'insufficient_scope');
      // Given back: the token (still unexpired, still carrying the scope) works again.
      assert.equal((await api(srv, 'PATCH', `/clients/${encodeURIComponent(c.client_id)}`, { token: admin, body: { scope: 'latchkey:admin reports:read' } })).status, 200);
      assert.equal((await api(srv, 'GET', '/clients?limit=1', { token: jwt })).status, 200);

      // The same for an opaque admin token.
      assert.equal((await api(srv, 'PATCH', `/clients/${encodeURIComponent(c.client_id)}`, { token: admin, body: { access_token_format: 'opaque' } })).status, 200);
      await srv.sync();
      const opaque = await tokenFor(srv, c.client_id, c.client_secret, 'latchkey:admin');
      assert.match(opaque, /^lko_/);
      assert.equal((await api(srv, 'GET', '/keys', { token: opaque })).status, 200);
      assert.equal((await api(srv, 'PATCH', `/clients/${encodeURIComponent(c.client_id)}`, { token: admin, body: { scope: 'reports:read' } })).status, 200);
      assert.equal((await api(srv, 'GET', '/keys', { token: opaque })).status, 403);
    });

    it("a deleted client's admin tokens do not come back when its client_id is reused", async () => {
      const id = `reused-admin-${store}`;
      const c = await newAdmin(id);
      const old = await tokenFor(srv, c.client_id, c.client_secret, 'latchkey:admin');
      assert.equal((await api(srv, 'GET', '/keys', { token: old })).status, 200);
      assert.equal((await api(srv, 'DELETE', `/clients/${id}`, { token: admin })).status, 204);
      assert.equal((await api(srv, 'GET', '/keys', { token: old })).status, 401, 'deleted client');
      await sleep(1100); // the new client is created in a later second than the old token's iat
      const again = await newAdmin(id);
      const r = await api(srv, 'GET', '/keys', { token: old });
      assert.equal(r.status, 401, 'a token minted for the earlier client with this id');
      assert.equal(r.json.error, 'invalid_token');
      const fresh = await tokenFor(srv, again.client_id, again.client_secret, 'latchkey:admin');
      assert.equal((await api(srv, 'GET', '/keys', { token: fresh })).status, 200, 'the new client is an admin in its own right');
    });

    it('self-lockout guard (admin API): PATCH disabled, dropping latchkey:admin, or moving the issuer out of the audience of the own client → 400; other clients and unchanged values are fine', async () => {
      const me = await newAdmin();
      const mine = await tokenFor(srv, me.client_id, me.client_secret, 'latchkey:admin');
      const path = `/clients/${encodeURIComponent(me.client_id)}`;
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ disabled: true }, 'disabled', /cannot disable itself/],
        [{ scope: 'reports:read' }, 'scope', /removing latchkey:admin from the client you are signed in as would lock you out/],
        [{ audience: ['https://reports.example.com'] }, 'audience', /must keep the issuer/],
        [{ audience: ['https://reports.example.com', srv.issuer] }, 'audience', /first audience/],
      ];
      for (const [body, field, msg] of cases) {
        const r = await api(srv, 'PATCH', path, { token: mine, body });
        assert.equal(r.status, 400, JSON.stringify(body) + ' → ' + JSON.stringify(r.json));
        assert.equal(r.json.error, 'invalid_request');
        assert.equal(r.json.field, field);
        assert.match(r.json.error_description, msg);
      }
      const after = (await srv.services.store.getClient(me.client_id))!;
      assert.equal(after.disabled, false);
      assert.equal(after.scope, 'latchkey:admin reports:read');
      assert.deepEqual(after.audience, [srv.issuer]);
      // The console's Save sends scope and audience as they are: fine. Adding an audience after the issuer: fine.
      const save = await api(srv, 'PATCH', path, { token: mine, body: { client_name: 'renamed', scope: 'latchkey:admin reports:read', audience: [srv.issuer, 'https://reports.example.com'] } });
      assert.equal(save.status, 200, JSON.stringify(save.json));
      assert.equal((await api(srv, 'GET', '/keys', { token: mine })).status, 200, 'still an admin');
      // Another admin may do all of it (the guard is about the caller's own client).
      assert.equal((await api(srv, 'PATCH', path, { token: admin, body: { scope: 'reports:read' } })).status, 200);
      assert.equal((await api(srv, 'PATCH', path, { token: admin, body: { disabled: true } })).status, 200);
    });

    it("self-lockout guard through the console's Save (PATCH via /console/api/admin)", async () => {
      const me = await newAdmin();
      const signIn = await fetch(`${srv.url}/console/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: me.client_id, client_secret: me.client_secret }),
      });
      assert.equal(signIn.status, 201);
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      const { json: session } = await readJson(signIn);
      const save = async (body: Record<string, unknown>) => {
        const res = await fetch(`${srv.url}/console/api/admin/clients/${encodeURIComponent(me.client_id)}`, {
          method: 'PATCH',
          headers: { cookie, 'x-csrf-token': session.csrf_token, 'content-type': 'application/json', origin: new URL(srv.issuer).origin },
          body: JSON.stringify(body),
        });
        return { status: res.status, ...(await readJson(res)) };
      };
      // What the console's form sends (client-form.tsx toBody, update mode).
      const form = { client_name: 'console admin', scope: 'latchkey:admin reports:read', audience: [srv.issuer], access_token_format: 'jwt', default_scope: null, access_token_ttl: null };
      for (const [change, field] of [
        [{ scope: 'reports:read' }, 'scope'],
        [{ audience: ['https://elsewhere.example.com'] }, 'audience'],
        [{ disabled: true }, 'disabled'],
      ] as const) {
        const r = await save({ ...form, ...change });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.field, field);
        assert.match(r.json.error_description, /lock you out|must keep the issuer|cannot disable itself/);
      }
      const ok = await save(form);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.client_name, 'console admin');
      const still = await fetch(`${srv.url}/console/api/session`, { headers: { cookie } });
      assert.equal(still.status, 200, 'the session still opens the admin API');
    });
  });
}
