// `latchkey token` (SPEC §4), run as a real process against a real Latchkey server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { startTestServer, type TestServer } from './helpers/harness.js';
import { runCli } from './helpers/cli.js';

const API = 'https://orders.example.com/';
let lk: TestServer;
let client: { client_id: string; client_secret?: string };
let tmp: string;

before(async () => {
  lk = await startTestServer();
  client = await lk.createClient({ client_name: 'cli', scope: 'orders:read orders:write', audience: [API, 'https://billing.example.com/'] });
  tmp = mkdtempSync(join(tmpdir(), 'latchkey-cli-token-'));
});
after(async () => {
  await lk.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function verify(token: string) {
  const jwks = (await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: lk.issuer, typ: 'at+jwt' });
}

test('--json prints the token response; the secret comes from LATCHKEY_CLIENT_SECRET and is never printed', async () => {
  const r = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--scope', 'orders:read', '--json'], {
    LATCHKEY_CLIENT_SECRET: client.client_secret!,
  });
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.scope, 'orders:read');
  const { payload } = await verify(body.access_token);
  assert.equal(payload.client_id, client.client_id);
  assert.ok(!r.stdout.includes(client.client_secret!) && !r.stderr.includes(client.client_secret!));
});

test('--decode shows the JWT header and claims; --scope and --resource repeat', async () => {
  const r = await runCli([
    'token', '--issuer', lk.issuer, '--client-id', client.client_id, '--client-secret', client.client_secret!,
    '--scope', 'orders:read', '--scope', 'orders:write', '--resource', 'https://billing.example.com/', '--decode',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^access_token\s+ey/m);
  assert.match(r.stdout, /^token_type\s+Bearer$/m);
  assert.match(r.stdout, /^header:/m);
  assert.match(r.stdout, /"typ": "at\+jwt"/);
  assert.match(r.stdout, /"aud": "https:\/\/billing\.example\.com\/"/);
  assert.match(r.stdout, /"scope": "orders:read orders:write"/);
  assert.match(r.stdout, /^exp\s+\d{4}-\d\d-\d\dT/m);
  assert.ok(!r.stdout.includes(client.client_secret!));
});

test('--json --decode adds the decoded header and claims', async () => {
  const r = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--auth-method', 'client_secret_basic', '--json', '--decode'], {
    LATCHKEY_CLIENT_SECRET: client.client_secret!,
  });
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.decoded.header.typ, 'at+jwt');
  assert.equal(body.decoded.claims.sub, client.client_id);
  assert.equal(body.decoded.claims.iss, lk.issuer);
});

test('a wrong secret exits 1 with the RFC error code, and does not echo the secret', async () => {
  const r = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--json'], { LATCHKEY_CLIENT_SECRET: 'lk_not_the_secret' });
  assert.equal(r.code, 1);
  const body = JSON.parse(r.stdout);
  assert.equal(body.error, 'invalid_client');
  assert.equal(body.status, 401);
  assert.ok(!r.stdout.includes('lk_not_the_secret') && !r.stderr.includes('lk_not_the_secret'));
  const human = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--scope', 'orders:delete'], { LATCHKEY_CLIENT_SECRET: client.client_secret! });
  assert.equal(human.code, 1);
  assert.match(human.stderr, /^latchkey token: invalid_scope: /);
  assert.equal(human.stdout, '');
});

test('usage errors exit 2: no credentials, both credentials, unreadable key file', async () => {
  const env = { LATCHKEY_CLIENT_SECRET: '' };
  const none = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id], env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--client-secret|LATCHKEY_CLIENT_SECRET|--key-file/);
  const keyFile = join(tmp, 'k.pem');
  writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const both = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--client-secret', 'x', '--key-file', keyFile]);
  assert.equal(both.code, 2);
  const junk = join(tmp, 'junk.pem');
  writeFileSync(junk, 'not a key');
  const bad = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--key-file', junk, '--json']);
  assert.equal(bad.code, 2);
  assert.equal(JSON.parse(bad.stdout).error, 'invalid_request');
});

test('an unreachable issuer exits 1 with ERR_NETWORK', async () => {
  const r = await runCli(['token', '--issuer', 'http://127.0.0.1:9/', '--client-id', 'x', '--json'], { LATCHKEY_CLIENT_SECRET: 's' });
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).error, 'ERR_NETWORK');
});

test('--key-file with private_key_jwt (PEM and JWK)', async () => {
  const meta = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint_auth_methods_supported?: string[] };
  assert.ok(meta.token_endpoint_auth_methods_supported?.includes('private_key_jwt'), 'metadata advertises private_key_jwt');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as object), kid: 'cli-1', alg: 'ES256', use: 'sig' };
  const c = await lk.createClient({ client_name: 'cli-pk', scope: 'orders:read', audience: [API], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
  const pem = join(tmp, 'client.pem');
  writeFileSync(pem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const jwkFile = join(tmp, 'client.jwk.json');
  writeFileSync(jwkFile, JSON.stringify({ ...(privateKey.export({ format: 'jwk' }) as object), kid: 'cli-1' }));
  for (const [file, extra] of [[pem, ['--kid', 'cli-1']], [jwkFile, []]] as const) {
    const r = await runCli(['token', '--issuer', lk.issuer, '--client-id', c.client_id, '--key-file', file, ...extra, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { payload } = await verify(JSON.parse(r.stdout).access_token);
    assert.equal(payload.client_id, c.client_id);
  }
});

test('--dpop gets a DPoP-bound token (cnf.jkt) and says the key is discarded', async () => {
  const r = await runCli(['token', '--issuer', lk.issuer, '--client-id', client.client_id, '--dpop', '--json', '--decode'], { LATCHKEY_CLIENT_SECRET: client.client_secret! });
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.token_type, 'DPoP');
  assert.equal(typeof body.decoded.claims.cnf.jkt, 'string');
  assert.match(r.stderr, /DPoP-bound/);
});
