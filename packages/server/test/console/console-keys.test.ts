/**
 * Key states as the console's Keys screen gets them (GET /admin/v1/keys), with a superseded key: a "next"
 * key replaced by a later rotation with a shorter pre-publication before it ever signed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';

interface Key {
  kid: string;
  state: string;
  activate_at: string;
  retired_at: string | null;
  expires_at: string | null;
}

describe('signing key states with a superseded key', () => {
  let srv: TestServer;
  let token: string;
  const keys = async () => (await api(srv, 'GET', '/keys', { token })).json.keys as Key[];
  const rotate = async (prepublish_seconds: number) => {
    const r = await api(srv, 'POST', '/keys/rotate', { token, body: { prepublish_seconds } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json as { kid: string; state: string; activate_at: string };
  };
  before(async () => {
    srv = await startTestServer();
    token = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
  });
  after(() => srv.close());

  it('a next key replaced by a longer pre-publication is still next and signs in its window', async () => {
    const k1 = await rotate(3600);
    assert.equal(k1.state, 'next');
    const k2 = await rotate(7200);
    const k1Now = (await keys()).find((k) => k.kid === k1.kid)!;
    assert.equal(k1Now.state, 'next');
    assert.ok(Date.parse(k1Now.retired_at!) > Date.parse(k1Now.activate_at), 'retired after it starts');
    const at = Date.parse(k1.activate_at) + 1000;
    assert.equal(srv.services.keyring.signer(at).kid, k1.kid, 'k1 signs between its activation and k2’s');
    assert.equal(srv.services.keyring.signer(Date.parse(k2.activate_at) + 1000).kid, k2.kid);
  });

  it('a next key replaced by a rotation that signs sooner is superseded: reported retired, never signs', async () => {
    const k3 = await rotate(3600);
    const k4 = await rotate(0);
    assert.equal(k4.state, 'current');
    const list = await keys();
    const k3Now = list.find((k) => k.kid === k3.kid)!;
    assert.ok(Date.parse(k3Now.retired_at!) <= Date.parse(k3Now.activate_at), 'retired no later than it would have started');
    assert.equal(k3Now.state, 'retired', 'not "next": it will never sign');
    assert.equal(list.filter((k) => k.state === 'current').length, 1);
    // Past the time k3 would have started signing, k4 still signs (k3's retirement has not been undone).
    const later = Date.parse(k3Now.activate_at) + 1000;
    assert.notEqual(srv.services.keyring.signer(later).kid, k3.kid);
    assert.equal(srv.services.keyring.signer(later).kid, k4.kid);
    assert.equal(srv.services.keyring.state({ ...(await srv.services.store.listKeys()).find((k) => k.kid === k3.kid)! }, later), 'retired');
    // Tokens minted now are signed by k4.
    const t = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    assert.equal(JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid, k4.kid);
  });
});
