/**
 * SPEC §7 registration policy (issue #14 item 2), over HTTP with plain fetch, on SQLite and PostgreSQL:
 * initial access tokens (IATs) carry mandatory scope/audience caps and a client quota; the caps are
 * enforced at registration and on every RFC 7592 update, also after the IAT is deleted; legacy IATs
 * without caps register nothing; the registration access token (RAT) rotates, expires and cannot
 * change a disabled client; metadata is bounded (≤ 10 JWKs, strict members, ≤ 16 KiB); the quota holds
 * under concurrent registrations.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { basic, pgAvailable, postForm, readJson, startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';
import { tokenHash } from '../../src/management/registration-tokens.js';

const API = 'https://api.example.com';
const OTHER = 'https://payments.example.com';

async function call(method: string, url: string, token: string | undefined, body?: unknown): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  // A body refused for its size is answered (413) before it is read; a busy machine may then see the
  // connection reset while still sending it. Retry that case only.
  for (let attempt = 1; ; attempt++) {
    try {
      return await call1(method, url, token, body);
    } catch (e) {
      if (attempt >= 3 || (e as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw e;
    }
  }
}

async function call1(method: string, url: string, token: string | undefined, body?: unknown) {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const { text, json } = await readJson(res);
  return { status: res.status, headers: res.headers, json, text };
}

/** A public RSA JWK of `bits` bits (e = 65537). */
function rsaJwk(bits: number): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return publicKey.export({ format: 'jwk' });
}
const ecJwk = (): Record<string, unknown> => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });

// Checked once, before any server starts (a busy event loop can time out the 2 s probe).
const PG = await pgAvailable();
for (const store of ['sqlite', 'postgres'] as const) {
  describe(`registration policy (SPEC §7) on ${store}`, { skip: store === 'postgres' && !PG }, () => {
    let srv: TestServer;
    let admin: string;
    let reg: string;
    const iat = async (body: Record<string, unknown>) => {
      const r = await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a b', audience: [API], ...body } });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      return r.json as { token: string; id: string };
    };

    before(async () => {
      srv = await startTestServer({ store, config: { maxAccessTokenTtl: 3600, accessTokenTtl: 600 } });
      admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
      reg = `${srv.url}/oauth2/register`;
    });
    after(() => srv.close());

    it('registration outside the caps → 400 invalid_client_metadata naming the field (scope, audience, access_token_ttl, client_id)', async () => {
      const t = (await iat({ scope: 'payments:read' })).token;
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ scope: 'payments:write payroll:admin' }, 'scope', /"payments:write" is not allowed by the initial access token/],
        [{ scope: 'payments:read latchkey:introspect' }, 'scope', /reserved to Latchkey/],
        [{ audience: [API, OTHER] }, 'audience', /"https:\/\/payments\.example\.com" is not allowed by the initial access token/],
        [{ audience: [] }, 'audience', /at least one audience/],
        [{ access_token_ttl: 86_400 }, 'access_token_ttl', /at most 3600/],
        [{ client_id: 'chosen-by-me' }, 'client_id', /chosen by the server/],
      ];
      for (const [body, field, msg] of cases) {
        const r = await call('POST', reg, t, { client_name: 'attacker', ...body });
        assert.equal(r.status, 400, JSON.stringify(body) + ' → ' + r.text);
        assert.equal(r.json.error, 'invalid_client_metadata');
        assert.equal(r.json.field, field, JSON.stringify(body));
        assert.match(r.json.error_description, msg);
      }
      // Within the caps: 201, and the token the client gets stays inside them.
      const ok = await call('POST', reg, t, { client_name: 'payments reader', token_endpoint_auth_method: 'client_secret_post', access_token_ttl: 3600 });
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.json.scope, 'payments:read');
      assert.deepEqual(ok.json.audience, [API]);
      await srv.sync();
      const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: ok.json.client_id, client_secret: ok.json.client_secret });
      assert.equal(tok.status, 200);
      assert.equal(tok.json.scope, 'payments:read');
      const wider = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_id: ok.json.client_id, client_secret: ok.json.client_secret, resource: OTHER });
      assert.equal(wider.status, 400);
      assert.equal(wider.json.error, 'invalid_target');
    });

    it('RFC 7592 PUT stays inside the caps, also after the initial access token is deleted', async () => {
      const t = await iat({ scope: 'a b', audience: [API, 'https://b.example.com'] });
      const c = (await call('POST', reg, t.token, { client_name: 'capped', scope: 'a', audience: [API] })).json;
      let rat = c.registration_access_token as string;
      assert.equal((await api(srv, 'DELETE', `/registration-tokens/${t.id}`, { token: admin })).status, 204);
      assert.equal((await call('POST', reg, t.token, { client_name: 'after delete' })).status, 401, 'the deleted IAT registers nothing');

      for (const [body, field] of [
        [{ scope: 'a payroll:admin' }, 'scope'],
        [{ scope: 'latchkey:admin' }, 'scope'],
        [{ audience: [API, OTHER] }, 'audience'],
        [{ access_token_ttl: 7200 }, 'access_token_ttl'],
      ] as const) {
        const r = await call('PUT', c.registration_client_uri, rat, { client_id: c.client_id, ...body });
        assert.equal(r.status, 400, JSON.stringify(body) + ' → ' + r.text);
        assert.equal(r.json.error, 'invalid_client_metadata');
        assert.equal(r.json.field, field);
      }
      // Inside the caps (which outlived the IAT): fine, and omitted scope/audience return to the caps.
      const inside = await call('PUT', c.registration_client_uri, rat, { client_id: c.client_id, scope: 'b', audience: ['https://b.example.com'] });
      assert.equal(inside.status, 200, inside.text);
      assert.equal(inside.json.scope, 'b');
      rat = inside.json.registration_access_token;
      const reset = await call('PUT', c.registration_client_uri, rat, { client_id: c.client_id });
      assert.equal(reset.status, 200);
      assert.equal(reset.json.scope, 'a b');
      assert.deepEqual(reset.json.audience, [API, 'https://b.example.com']);
      const stored = await srv.services.store.getClient(c.client_id);
      assert.equal(stored!.scope, 'a b', 'the store holds what the response says');
    });

    it('a legacy initial access token (no caps) is refused for new registrations, saying how to create a capped one', async () => {
      const legacy = 'lki_' + 'L'.repeat(43);
      await srv.services.store.insertRegistrationToken({ token_hash: tokenHash(legacy), scope: null, created_at: Date.now(), expires_at: Date.now() + 3_600_000, created_by: 'cli:old', audience: null, max_clients: null });
      const r = await call('POST', reg, legacy, { client_name: 'legacy' });
      assert.equal(r.status, 401);
      assert.equal(r.json.error, 'invalid_token');
      assert.match(r.json.error_description, /latchkey registration-tokens create --scope SCOPES --audience URL/);
      const listed = (await api(srv, 'GET', '/registration-tokens', { token: admin })).json.registration_tokens.find((x: any) => x.id === tokenHash(legacy));
      assert.equal(listed.legacy, true);
      assert.equal((await srv.services.store.listClients({ search: 'legacy' })).total, 0);
    });

    it('the registration access token rotates on every successful PUT, expires, and cannot change a disabled client', async () => {
      const t = (await iat({})).token;
      const c = (await call('POST', reg, t, { client_name: 'rotating' })).json;
      const uri = c.registration_client_uri as string;
      const first = c.registration_access_token as string;
      const put = await call('PUT', uri, first, { client_id: c.client_id, client_name: 'rotated' });
      assert.equal(put.status, 200);
      const second = put.json.registration_access_token as string;
      assert.notEqual(second, first);
      assert.equal((await call('PUT', uri, first, { client_id: c.client_id, client_name: 'stale token' })).status, 401, 'the old token no longer writes');
      assert.equal((await call('GET', uri, second)).json.client_name, 'rotated');
      // The same RAT used by two concurrent updates: exactly one succeeds (compare-and-set).
      const both = await Promise.all([1, 2].map((i) => call('PUT', uri, second, { client_id: c.client_id, client_name: `race ${i}` })));
      assert.deepEqual(both.map((r) => r.status).sort(), [200, 401]);
      const third = both.find((r) => r.status === 200)!.json.registration_access_token as string;

      // Disabled by an admin: reads still work, writes (PUT, DELETE) do not.
      assert.equal((await api(srv, 'POST', `/clients/${encodeURIComponent(c.client_id)}/disable`, { token: admin })).status, 200);
      const w = await call('PUT', uri, third, { client_id: c.client_id, client_name: 're-enable me', disabled: false });
      assert.equal(w.status, 401);
      assert.equal(w.json.error_description, 'the client is disabled; its registration cannot be changed');
      assert.equal((await call('DELETE', uri, third)).status, 401);
      assert.equal((await call('GET', uri, third)).status, 200);
      assert.equal((await srv.services.store.getClient(c.client_id))!.disabled, true);
      assert.equal((await srv.services.store.getClient(c.client_id))!.client_name, (both.find((r) => r.status === 200)!.json.client_name as string));
      assert.equal((await api(srv, 'POST', `/clients/${encodeURIComponent(c.client_id)}/enable`, { token: admin })).status, 200);

      // Expiry (registrationAccessTokenTtl, default 90 days): move the issue time back past it.
      const regRec = (await srv.services.store.getClientRegistration(c.client_id))!;
      const ninetyDays = 90 * 86_400_000;
      assert.equal(await srv.services.store.rotateRegistrationAccessToken(c.client_id, regRec.token_hash, regRec.token_hash, Date.now() - ninetyDays + 60_000), true);
      assert.equal((await call('GET', uri, third)).status, 200, 'a minute before the 90 days are up');
      assert.equal(await srv.services.store.rotateRegistrationAccessToken(c.client_id, regRec.token_hash, regRec.token_hash, Date.now() - ninetyDays - 1), true);
      const expired = await call('GET', uri, third);
      assert.equal(expired.status, 401);
      assert.deepEqual(expired.json, { error: 'invalid_token', error_description: 'the registration access token has expired' });
      assert.equal((await call('PUT', uri, third, { client_id: c.client_id })).status, 401);
    });

    it('metadata is bounded: ≤ 10 JWKs, only RFC 7517/7518 members per key type, body ≤ 16 KiB (413)', async () => {
      const t = (await iat({})).token;
      const key = ecJwk();
      const eleven = { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: Array.from({ length: 11 }, (_, i) => ({ ...key, kid: `k${i}` })) } };
      const r11 = await call('POST', reg, t, eleven);
      assert.equal(r11.status, 400, r11.text);
      assert.equal(r11.json.field, 'jwks.keys');
      const ten = await call('POST', reg, t, { ...eleven, jwks: { keys: eleven.jwks.keys.slice(0, 10) } });
      assert.equal(ten.status, 201, ten.text);
      for (const extra of [{ foo: 'bar' }, { crv: 'P-256' }, { x5u: 'https://evil.example/x' }]) {
        const jwk = extra.crv ? { ...rsaJwk(2048), ...extra } : { ...key, ...extra };
        const r = await call('POST', reg, t, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
        assert.equal(r.status, 400, JSON.stringify(extra) + ' → ' + r.text);
        assert.equal(r.json.field, 'jwks.keys.0');
        assert.match(r.json.error_description, /is not defined for kty/);
      }
      const big = await call('POST', reg, t, { client_name: 'x'.repeat(100), padding: 'p'.repeat(17 * 1024) });
      assert.equal(big.status, 413);
      assert.deepEqual(big.json, { error: 'invalid_request', error_description: 'request body larger than 16384 bytes' });
      const bigPut = await call('PUT', ten.json.registration_client_uri, ten.json.registration_access_token, { client_id: ten.json.client_id, padding: 'p'.repeat(17 * 1024) });
      assert.equal(bigPut.status, 413);
      // Just under the bound (unknown members are ignored, RFC 7591 §2): accepted.
      const under = await call('POST', reg, t, { client_name: 'under', padding: 'p'.repeat(15 * 1024) });
      assert.equal(under.status, 201);
    });

    it('weak client keys are refused at registration: 512-bit RSA, RSA with a huge public exponent, unknown kty', async () => {
      const t = (await iat({})).token;
      const strong = rsaJwk(2048);
      const hugeE = { ...strong, e: Buffer.concat([Buffer.from([0x80]), Buffer.alloc(382, 0xff), Buffer.from([0x01])]).toString('base64url') };
      for (const [jwk, msg] of [
        [rsaJwk(512), /RSA modulus must be 2048–8192 bits/],
        [hugeE, /RSA exponent must be 65537/],
        [{ kty: 'XYZ', x: 'AAAA' }, /kty must be RSA, EC or OKP/],
      ] as const) {
        const r = await call('POST', reg, t, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.error, 'invalid_client_metadata');
        assert.equal(r.json.field, 'jwks.keys.0');
        assert.match(r.json.error_description, msg);
      }
      assert.equal((await call('POST', reg, t, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [strong] } })).status, 201);
    });

    it('the quota holds under concurrent registrations (atomic): max_clients 3, 12 parallel → exactly 3 clients', async () => {
      const t = await iat({ max_clients: 3 });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => call('POST', reg, t.token, { client_name: `quota-${store}-${i}` })));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 201, 201, ...Array(9).fill(401)], JSON.stringify(statuses));
      const refused = results.find((r) => r.status === 401)!;
      assert.equal(refused.json.error, 'invalid_token');
      assert.match(refused.json.error_description, /maximum number of clients \(3\)/);
      assert.equal((await srv.services.store.listClients({ search: `quota-${store}-` })).total, 3);
      const listed = (await api(srv, 'GET', '/registration-tokens', { token: admin })).json.registration_tokens.find((x: any) => x.id === t.id);
      assert.equal(listed.clients_registered, 3);
      assert.equal(listed.max_clients, 3);
      // A registration refused by the metadata rules does not use up the quota.
      const t2 = await iat({ max_clients: 1 });
      assert.equal((await call('POST', reg, t2.token, { token_endpoint_auth_method: 'private_key_jwt' })).status, 400);
      assert.equal((await call('POST', reg, t2.token, { client_name: 'the one' })).status, 201);
      assert.equal((await call('POST', reg, t2.token, { client_name: 'one too many' })).status, 401);
    });

    it('registered clients get tokens for their capped audience only; RAT and IAT never open the admin API', async () => {
      const t = (await iat({})).token;
      const c = (await call('POST', reg, t, { client_name: 'no admin' })).json;
      await srv.sync();
      const tok = await postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret) });
      assert.equal(tok.status, 200);
      for (const bearer of [tok.json.access_token, c.registration_access_token, t]) {
        const r = await api(srv, 'GET', '/clients', { token: bearer });
        assert.ok(r.status === 401 || r.status === 403, String(r.status));
      }
    });
  });
}
