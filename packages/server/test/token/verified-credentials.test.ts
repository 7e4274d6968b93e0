import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VerifiedCredentials } from '../../src/client-auth/verified-credentials.js';
import { ClientService } from '../../src/management/clients.service.js';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';

const cc = { grant_type: 'client_credentials' };
type Made = { client_id: string; client_secret: string };

describe('verified-credential cache (issue #16): client_secret_basic/post repeat callers', () => {
  let srv: TestServer;
  let token: string;
  let svc: ClientService;

  before(async () => {
    srv = await startTestServer();
    token = `${srv.url}/oauth2/token`;
    svc = new ClientService(srv.services);
  });
  after(() => srv.close());

  const viaBasic = (c: Made, secret = c.client_secret) => postForm(token, cc, { authorization: basic(c.client_id, secret) });
  const viaPost = (c: Made, secret = c.client_secret) => postForm(token, { ...cc, client_id: c.client_id, client_secret: secret });

  for (const [method, call] of [
    ['client_secret_basic', viaBasic],
    ['client_secret_post', viaPost],
  ] as const) {
    it(`${method}: rotation without grace drops the cached old secret at the next feed poll; the new one works`, async () => {
      const c = (await srv.createClient({ client_name: `rot-${method}`, token_endpoint_auth_method: method })) as Made;
      for (let i = 0; i < 3; i++) assert.equal((await call(c)).status, 200, 'repeat caller (cached after the first)');
      const rot = await svc.rotateSecret(c.client_id, 'test', { graceSeconds: 0 });
      await srv.sync();
      assert.equal((await call(c)).status, 401, 'old secret refused although it was cached');
      assert.equal((await call(c, rot.client_secret as string)).status, 200);
      assert.equal((await call(c, rot.client_secret as string)).status, 200);
    });

    it(`${method}: a grace secret keeps working (cached or not) until the grace ends, then is refused`, async () => {
      const c = (await srv.createClient({ client_name: `grace-${method}`, token_endpoint_auth_method: method })) as Made;
      assert.equal((await call(c)).status, 200);
      const rot = await svc.rotateSecret(c.client_id, 'test', { graceSeconds: 2 });
      await srv.sync();
      assert.equal((await call(c)).status, 200, 'old secret in grace');
      assert.equal((await call(c)).status, 200, 'old secret in grace, cached');
      assert.equal((await call(c, rot.client_secret as string)).status, 200, 'new secret');
      assert.equal((await call(c, rot.client_secret as string)).status, 200, 'new secret, cached');
      await new Promise((r) => setTimeout(r, 2_200));
      // No change event at the end of a grace: the entry's own bound (earliest live secret expiry) ends it.
      assert.equal((await call(c)).status, 401, 'old secret refused once its grace ended, without a feed event');
      assert.equal((await call(c, rot.client_secret as string)).status, 200);
    });

    it(`${method}: disable and delete drop cached credentials; enable needs a fresh verification`, async () => {
      const c = (await srv.createClient({ client_name: `dis-${method}`, token_endpoint_auth_method: method })) as Made;
      assert.equal((await call(c)).status, 200);
      assert.equal((await call(c)).status, 200);
      await svc.setDisabled(c.client_id, true, 'test');
      await srv.sync();
      assert.equal((await call(c)).status, 401, 'disabled client refused although cached');
      await svc.setDisabled(c.client_id, false, 'test');
      await srv.sync();
      assert.equal((await call(c)).status, 200);
      await svc.delete(c.client_id, 'test');
      await srv.sync();
      assert.equal((await call(c)).status, 401, 'deleted client refused although cached');
    });

    it(`${method}: a wrong secret is refused after the right one was cached (never a hit)`, async () => {
      const c = (await srv.createClient({ client_name: `wrong-${method}`, token_endpoint_auth_method: method })) as Made;
      assert.equal((await call(c)).status, 200);
      const wrong = [c.client_secret.slice(0, -1) + (c.client_secret.endsWith('A') ? 'B' : 'A'), c.client_secret + 'x', c.client_secret.slice(1), ''];
      for (const w of wrong) {
        if (w === '' && method === 'client_secret_basic') continue;
        const r = await call(c, w);
        assert.equal(r.status, 401, `wrong secret ${JSON.stringify(w.length)} chars`);
        assert.equal(r.json.error, 'invalid_client');
      }
      assert.equal((await call(c)).status, 200);
    });
  }

  it('the Basic cache is keyed by the exact client: another client with the same secret text is not a hit', async () => {
    const a = (await srv.createClient({ client_name: 'a' })) as Made;
    const b = (await srv.createClient({ client_name: 'b' })) as Made;
    assert.equal((await viaBasic(a)).status, 200);
    assert.equal((await viaBasic(b, a.client_secret)).status, 401);
    assert.equal((await viaPost({ client_id: b.client_id, client_secret: a.client_secret })).status, 401);
  });

  describe('VerifiedCredentials unit (the real client cache of a running server)', () => {
    it('hits only for the exact key, while the client object is current, until the earliest live secret expiry; bounded', async () => {
      const c = (await srv.createClient({ client_name: 'unit' })) as Made;
      const clients = srv.services.clients;
      const cached = clients.get(c.client_id)!;
      const v = new VerifiedCredentials(clients, 3);
      const now = Date.now();
      const k = v.keyOf(basic(c.client_id, c.client_secret));
      assert.equal(v.get(k, now), undefined, 'nothing before a verification');
      v.remember(k, cached, now);
      assert.equal(v.get(k, now), cached);
      assert.equal(v.hits, 1);
      assert.notEqual(v.keyOf(basic(c.client_id, c.client_secret)), new VerifiedCredentials(clients).keyOf(basic(c.client_id, c.client_secret)), 'per-instance random key');
      assert.ok(!v.keyOf('x').includes(c.client_secret) && !k.includes(c.client_secret), 'the key is a digest, not the secret');
      // Any change to the client replaces its cache object: the entry dies with it.
      await svc.update(c.client_id, { client_name: 'unit renamed' }, 'test');
      await srv.sync();
      assert.notEqual(clients.get(c.client_id), cached);
      assert.equal(v.get(k, now), undefined, 'stale client object: miss');
      assert.equal(v.size, 0, 'and the stale entry is gone');
      // Bound: two generations of 2 (max 3 → ⌈3/2⌉); an entry used while old moves back to the young one.
      const fresh = clients.get(c.client_id)!;
      for (const s of ['1', '2']) v.remember(v.keyOf(s), fresh, now); // young full → old {1, 2}
      assert.ok(v.get(v.keyOf('1'), now), 'touch 1: back in the young generation');
      v.remember(v.keyOf('3'), fresh, now); // young {1, 3} full → old {1, 3}; {2} dropped
      v.remember(v.keyOf('4'), fresh, now);
      assert.ok(v.size <= 4, `size ${v.size}`);
      assert.equal(v.get(v.keyOf('2'), now), undefined, 'the unused one is dropped');
      assert.ok(v.get(v.keyOf('1'), now), 'the touched one survived the rotation that dropped 2');
      assert.ok(v.get(v.keyOf('4'), now), 'the newest is there');
    });

    it('expiry: an entry ends at the earliest expiry among the secrets live at verification', async () => {
      const c = (await srv.createClient({ client_name: 'unit-exp' })) as Made;
      await svc.rotateSecret(c.client_id, 'test', { graceSeconds: 60 });
      await srv.sync();
      const cached = srv.services.clients.get(c.client_id)!;
      const expiries = cached.secrets.map((s) => s.expires_at).filter((x): x is number => x != null);
      assert.equal(expiries.length, 1, 'the old secret has a grace expiry');
      const v = new VerifiedCredentials(srv.services.clients);
      const k = v.keyOf('pair');
      v.remember(k, cached, Date.now());
      assert.ok(v.get(k, expiries[0]! - 1));
      assert.equal(v.get(k, expiries[0]!), undefined);
    });

    it('fast-check: no other credential string hits a remembered one', async () => {
      const c = (await srv.createClient({ client_name: 'unit-fc' })) as Made;
      const cached = srv.services.clients.get(c.client_id)!;
      const v = new VerifiedCredentials(srv.services.clients);
      const right = basic(c.client_id, c.client_secret);
      v.remember(v.keyOf(right), cached, Date.now());
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (s) => {
          if (s === right) return true;
          return v.get(v.keyOf(s), Date.now()) === undefined;
        }),
        { numRuns: 2000 },
      );
      assert.equal(v.get(v.keyOf(right), Date.now()), cached);
    });
  });
});
