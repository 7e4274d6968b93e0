import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { tokenFor } from '../admin/helpers.js';

const RUNS = Number(process.env.LATCHKEY_POLLUTION_RUNS ?? 5_000);

/**
 * 4 × RUNS admin and registration JSON bodies carrying `__proto__` / `constructor.prototype` keys at any
 * depth, written as raw JSON text (a JS object literal cannot hold an own `__proto__` key): after all of
 * them, Object.prototype is unchanged and no request got a 5xx.
 */
describe(`prototype pollution: ${4 * RUNS} admin/registration JSON bodies`, () => {
  let srv: TestServer;
  let admin: string;
  let iat: string;
  let clientId: string;
  let reg: { client_id: string; registration_access_token: string };
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  before(async () => {
    srv = await startTestServer();
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    const inj = srv.running.http;
    iat = JSON.parse((await inj.inject({ method: 'POST', url: '/admin/v1/registration-tokens', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: '{"scope":"a","audience":["https://api.example.com"],"max_clients":100000}' })).body).token;
    clientId = JSON.parse((await inj.inject({ method: 'POST', url: '/admin/v1/clients', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: '{"client_name":"target","scope":"a"}' })).body).client_id;
    reg = JSON.parse((await inj.inject({ method: 'POST', url: '/oauth2/register', headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, payload: '{"client_name":"r","scope":"a"}' })).body);
    assert.ok(iat && clientId && reg.registration_access_token);
  });
  after(() => srv.close());

  const poison = fc.constantFrom(
    '"__proto__":{"polluted":"yes","isAdmin":true}',
    '"constructor":{"prototype":{"polluted":"yes"}}',
    '"__proto__":{"__proto__":{"polluted":"yes"}}',
    '"prototype":{"polluted":"yes"}',
    '"__proto__":null',
    '"__proto__":"x"',
  );
  const field = fc.constantFrom('"client_name":"n"', '"scope":"a"', '"audience":["https://api.example"]', '"access_token_ttl":60', '"jwks":{"keys":[{"kty":"EC",' , '"disabled":false', '"grant_types":["client_credentials"]');
  /** A JSON object text with poison at the top level or nested inside a field value. */
  const bodyText = fc
    .tuple(fc.array(fc.oneof(poison, field.filter((f) => !f.endsWith(','))), { minLength: 1, maxLength: 5 }), fc.boolean(), poison)
    .map(([parts, nest, p]) => {
      const top = `{${parts.join(',')}}`;
      return nest ? `{"client_name":"n","jwks":{"keys":[{"kty":"EC",${p}}]},"audience":[{${p}}],${p}}` : top;
    });

  const targets: [string, string, () => Record<string, string>][] = [
    ['POST', '/admin/v1/clients', () => ({ authorization: `Bearer ${admin}` })],
    ['PATCH', '/admin/v1/clients/CLIENT', () => ({ authorization: `Bearer ${admin}` })],
    ['POST', '/oauth2/register', () => ({ authorization: `Bearer ${iat}` })],
    ['PUT', '/oauth2/register/REG', () => ({ authorization: `Bearer ${reg.registration_access_token}` })],
  ];

  for (const [method, path, auth] of targets) {
    it(`${method} ${path}: ${RUNS} bodies, no 5xx, Object.prototype unchanged`, async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(bodyText, async (payload) => {
          const url = path.replace('CLIENT', clientId).replace('REG', reg.client_id);
          // RFC 7592 §2.2: an update names its client_id, so the body can get past that check.
          const body = path.includes('REG') ? payload.replace(/^\{/, `{"client_id":${JSON.stringify(reg.client_id)},`) : payload;
          const r = await srv.running.http.inject({ method: method as 'POST', url, headers: { ...auth(), 'content-type': 'application/json' }, payload: body });
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          assert.ok(r.statusCode < 500, `${r.statusCode} ${r.body}`);
          // SPEC §7: each successful RFC 7592 update issues a new registration access token.
          if (method === 'PUT' && r.statusCode === 200) reg.registration_access_token = (JSON.parse(r.body) as { registration_access_token: string }).registration_access_token;
          assert.equal(({} as Record<string, unknown>).polluted, undefined);
          assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
        }),
        { numRuns: RUNS },
      );
      assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoBefore);
      assert.ok(statuses.size >= 1);
      process.stdout.write(`# ${method} ${path}: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    });
  }
});
