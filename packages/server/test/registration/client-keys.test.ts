/**
 * SPEC §8 client keys on every path that accepts them (issue #14 item 4): the admin API and the CLI
 * refuse a 512-bit RSA key and an RSA key with a huge public exponent (RFC 7591 registration: see
 * policy.test.ts), and with more than one key registered an assertion without `kid` is invalid_client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { api, tokenFor } from '../admin/helpers.js';
import { ASSERTION_TYPE, INVALID_CLIENT, assertion, keyPair } from '../strong-auth/helpers.js';

const rsaJwk = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
/** A 2048-bit modulus with a 3071-bit public exponent (each verification ~100× the work of e = 65537). */
const hugeExponent = () => ({ ...rsaJwk(2048), e: Buffer.concat([Buffer.from([0x40]), Buffer.alloc(382, 0xff), Buffer.from([0x01])]).toString('base64url') });

describe('client keys on every path (SPEC §8)', () => {
  let srv: TestServer;
  let admin: string;
  let dir: string;

  before(async () => {
    srv = await startTestServer();
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret, 'latchkey:admin');
    dir = mkdtempSync(join(tmpdir(), 'latchkey-keys-'));
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('admin API: 512-bit RSA and a huge exponent → 400 invalid_client_metadata naming the key', async () => {
    for (const [jwk, msg] of [
      [rsaJwk(512), /RSA modulus must be 2048–8192 bits/],
      [hugeExponent(), /RSA exponent must be 65537/],
    ] as const) {
      for (const [method, path] of [
        ['POST', '/clients'],
        ['PATCH', `/clients/${encodeURIComponent(srv.admin.client_id)}`],
      ] as const) {
        const body = method === 'POST' ? { client_name: 'weak', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } } : { jwks: { keys: [jwk] } };
        const r = await api(srv, method, path, { token: admin, body });
        assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.error, 'invalid_client_metadata');
        assert.equal(r.json.field, 'jwks.keys.0');
        assert.match(r.json.error_description, msg);
      }
    }
    assert.equal((await srv.services.store.listClients({ search: 'weak' })).total, 0);
  });

  it('CLI clients create --jwks-file: 512-bit RSA and a huge exponent → non-zero exit with one line naming the key', async () => {
    for (const [name, jwk, msg] of [
      ['rsa512', rsaJwk(512), /jwks\.keys\.0: RSA modulus must be 2048–8192 bits/],
      ['rsa-huge-e', hugeExponent(), /jwks\.keys\.0: RSA exponent must be 65537/],
    ] as const) {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ keys: [jwk] }));
      const r = await runCli(['clients', 'create', '--name', `cli-${name}`, '--auth-method', 'private_key_jwt', '--jwks-file', file, '--data-dir', srv.dataDir]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal((await srv.services.store.listClients({ search: 'cli-rsa' })).total, 0);
  });

  it('with more than one key registered, an assertion without kid → 401 invalid_client; with kid → 200', async () => {
    const [k1, k2] = await Promise.all([keyPair('ES256', 'one'), keyPair('ES256', 'two')]);
    const c = await srv.createClient({ client_name: 'two keys', scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k1.publicJwk, k2.publicJwk] } });
    const send = (a: string) => postForm(`${srv.url}/oauth2/token`, { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: a });
    for (const k of [k1, k2]) {
      const none = await send(await assertion(k.privateKey, c.client_id, srv.issuer));
      assert.equal(none.status, 401, none.text);
      assert.deepEqual(none.json, INVALID_CLIENT);
      const named = await send(await assertion(k.privateKey, c.client_id, srv.issuer, { header: { kid: k.kid } }));
      assert.equal(named.status, 200, named.text);
    }
    // A kid naming the other key does not verify.
    const crossed = await send(await assertion(k1.privateKey, c.client_id, srv.issuer, { header: { kid: k2.kid } }));
    assert.equal(crossed.status, 401);
    // One key: kid stays optional.
    const single = await srv.createClient({ client_name: 'one key', scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [k1.publicJwk] } });
    assert.equal((await send(await assertion(k1.privateKey, single.client_id, srv.issuer))).status, 200);
  });
});
