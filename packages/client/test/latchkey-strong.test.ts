// Against real Latchkey servers configured for the stronger options: DPoP nonces (RFC 9449 §8)
// and mutual TLS (RFC 8705) on the server's own TLS listener.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { Agent } from 'undici';
import { OAuthErrorResponse, TokenClient, type TokenClientEvent } from '../src/index.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';

const API = 'https://orders.example.com/';
let dir: string;
const pem: Record<string, Buffer> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-client-strong-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
  for (const [name, subject, ext] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', '/CN=orders-service', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  for (const f of ['ca.crt', 'client.crt', 'client.key']) pem[f] = readFileSync(join(dir, f));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('DPoP with server-required nonces: one nonce round-trip, then a bound token', async (t) => {
  const lk = await startTestServer({ config: { dpopNonce: true } });
  t.after(() => lk.close());
  const c = await lk.createClient({ client_name: 'dpop-nonce', scope: 'orders:read', audience: [API] });
  const events: TokenClientEvent[] = [];
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'client_secret_basic', clientId: c.client_id, clientSecret: c.client_secret! }, dpop: true, onEvent: (e) => events.push(e) });
  const token = await client.getToken();
  assert.equal(token.tokenType, 'DPoP');
  assert.deepEqual(decodeJwt(token.accessToken).cnf, { jkt: (await client.dpop())!.jkt });
  assert.equal(events.filter((e) => e.type === 'dpop_nonce').length, 1);
  assert.equal(events.filter((e) => e.type === 'retry').length, 0);
  // The nonce is remembered: the next request needs no extra round-trip.
  events.length = 0;
  await client.getToken({ forceRefresh: true });
  assert.equal(events.filter((e) => e.type === 'dpop_nonce').length, 0);
});

test('tls_client_auth on the Latchkey TLS listener, certificate from an undici Agent; token bound with x5t#S256', async (t) => {
  const lk = await startTestServer({ config: { tlsCert: join(dir, 'server.crt'), tlsKey: join(dir, 'server.key'), tlsCa: join(dir, 'ca.crt') } });
  t.after(() => lk.close());
  assert.match(lk.issuer, /^https:/);
  const c = await lk.createClient({
    client_name: 'mtls',
    scope: 'orders:read',
    audience: [API],
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_subject_dn: 'CN=orders-service',
  });
  const agent = new Agent({ connect: { ca: pem['ca.crt'], cert: pem['client.crt'], key: pem['client.key'] } });
  t.after(() => agent.close());
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'tls_client_auth', clientId: c.client_id }, dispatcher: agent });
  const token = await client.getToken();
  const der = Buffer.from(pem['client.crt']!.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const claims = decodeJwt(token.accessToken);
  assert.equal(claims.client_id, c.client_id);
  assert.deepEqual(claims.cnf, { 'x5t#S256': createHash('sha256').update(der).digest('base64url') });

  // Same client, no certificate: invalid_client, typed and not retried.
  const noCert = new Agent({ connect: { ca: pem['ca.crt'] } });
  t.after(() => noCert.close());
  const bare = new TokenClient({ issuer: lk.issuer, auth: { method: 'tls_client_auth', clientId: c.client_id }, dispatcher: noCert });
  await assert.rejects(bare.getToken(), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_client');
});
