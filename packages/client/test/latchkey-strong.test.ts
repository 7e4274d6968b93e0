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
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import { OAuthErrorResponse, TokenClient, type TokenClientEvent } from '../src/index.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.js';
import { createResourceServer, nodeHttpGuard, type ResourceServerOptions } from '../../resource/src/index.js';

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

/** An API protected by @latchkey/resource (node:http or node:https with client certificates requested). */
async function startApi(lk: TestServer, tls: boolean, options: Partial<ResourceServerOptions> = {}): Promise<{ url: string; server: Server }> {
  // The API trusts the test CA for its calls to Latchkey (discovery, JWKS).
  const trusting = new Agent({ connect: { ca: pem['ca.crt'] } });
  const viaCa = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: trusting })) as unknown as ResourceServerOptions['fetch'];
  const rs = createResourceServer({ issuer: lk.issuer, audience: API, fetch: viaCa, ...options });
  const guard = nodeHttpGuard(rs, { scopes: 'orders:read' });
  const handler = async (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const auth = await guard(req, res);
    if (auth) res.end(JSON.stringify({ client: auth.clientId, binding: auth.binding }));
  };
  const server = tls
    ? createHttpsServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')), ca: pem['ca.crt'], requestCert: true, rejectUnauthorized: false }, handler)
    : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.on('close', () => void trusting.close());
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('end to end: a tls_client_auth token from Latchkey is accepted by @latchkey/resource with the same certificate — over TLS and behind a proxy header', async (t) => {
  const lk = await startTestServer({ config: { tlsCert: join(dir, 'server.crt'), tlsKey: join(dir, 'server.key'), tlsCa: join(dir, 'ca.crt') } });
  t.after(() => lk.close());
  const c = await lk.createClient({ client_name: 'mtls-e2e', scope: 'orders:read', audience: [API], token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=orders-service' });
  const agent = new Agent({ connect: { ca: pem['ca.crt'], cert: pem['client.crt'], key: pem['client.key'] } });
  const noCert = new Agent({ connect: { ca: pem['ca.crt'] } });
  t.after(() => Promise.all([agent.close(), noCert.close()]));
  const client = new TokenClient({ issuer: lk.issuer, auth: { method: 'tls_client_auth', clientId: c.client_id }, dispatcher: agent, scope: 'orders:read' });
  const { accessToken } = await client.getToken();
  const der = Buffer.from(pem['client.crt']!.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const x5t = createHash('sha256').update(der).digest('base64url');

  // 1. The API terminates TLS itself.
  const direct = await startApi(lk, true);
  t.after(() => direct.server.close());
  const ok = await undiciFetch(`${direct.url}/orders`, { headers: { authorization: `Bearer ${accessToken}` }, dispatcher: agent });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.deepEqual(await ok.json(), { client: c.client_id, binding: { type: 'mtls', x5tS256: x5t } });
  const stolen = await undiciFetch(`${direct.url}/orders`, { headers: { authorization: `Bearer ${accessToken}` }, dispatcher: noCert });
  assert.equal(stolen.status, 401, 'the token alone, without the certificate, is refused');
  assert.match(stolen.headers.get('www-authenticate')!, /error="invalid_token"/);

  // 2. Behind nginx: the certificate arrives URL-encoded in a header the proxy sets.
  const proxied = await startApi(lk, false, { trustedCertificateHeader: 'X-SSL-Client-Cert', trustedProxies: ['127.0.0.1'] });
  t.after(() => proxied.server.close());
  const viaProxy = await fetch(`${proxied.url}/orders`, { headers: { authorization: `Bearer ${accessToken}`, 'x-ssl-client-cert': encodeURIComponent(pem['client.crt']!.toString()) } });
  assert.equal(viaProxy.status, 200, await viaProxy.clone().text());
  const wrongCert = await fetch(`${proxied.url}/orders`, { headers: { authorization: `Bearer ${accessToken}`, 'x-ssl-client-cert': encodeURIComponent(pem['ca.crt']!.toString()) } });
  assert.equal(wrongCert.status, 401);
});
