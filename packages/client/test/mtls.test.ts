// tls_client_auth (RFC 8705 §2) through a caller-supplied undici Agent, against a real HTTPS
// authorization server that requires a client certificate and publishes mtls_endpoint_aliases.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { OAuthErrorResponse, TokenClient } from '../src/index.js';

let dir: string;
let server: Server;
let issuer: string;
const pem: Record<string, Buffer> = {};
const seen: Array<{ path: string; certThumbprint: string | undefined; params: URLSearchParams; authorization: string | undefined }> = [];

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-mtls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
  for (const [name, subject, ext] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', '/CN=orders-service', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  for (const f of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) pem[f] = readFileSync(join(dir, f));
  server = createServer({ key: pem['server.key'], cert: pem['server.crt'], ca: pem['ca.crt'], requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket as TLSSocket;
      const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
      const certThumbprint = cert?.raw ? createHash('sha256').update(cert.raw).digest('base64url') : undefined;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/oauth-authorization-server') {
        return res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, mtls_endpoint_aliases: { token_endpoint: `${issuer}/mtls/token` } }));
      }
      seen.push({ path: req.url!, certThumbprint, params: new URLSearchParams(Buffer.concat(chunks).toString()), authorization: req.headers.authorization });
      if (req.url !== '/mtls/token' || !certThumbprint) {
        res.statusCode = 401;
        return res.end(JSON.stringify({ error: 'invalid_client', error_description: 'client certificate required' }));
      }
      // RFC 8705 §3.1: the token is bound to the certificate with cnf["x5t#S256"].
      res.end(JSON.stringify({ access_token: `bound-to-${certThumbprint}`, token_type: 'Bearer', expires_in: 300 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('tls_client_auth: the certificate comes from the dispatcher, the mTLS alias is used, only client_id is sent', async () => {
  const agent = new Agent({ connect: { ca: pem['ca.crt'], cert: pem['client.crt'], key: pem['client.key'] } });
  const client = new TokenClient({ issuer, auth: { method: 'tls_client_auth', clientId: 'orders' }, dispatcher: agent });
  const token = await client.getToken();
  const expected = createHash('sha256').update(Buffer.from(pem['client.crt']!.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64')).digest('base64url');
  assert.equal(token.accessToken, `bound-to-${expected}`);
  const last = seen.at(-1)!;
  assert.equal(last.path, '/mtls/token');
  assert.equal(last.params.get('client_id'), 'orders');
  assert.equal(last.params.get('client_secret'), null);
  assert.equal(last.authorization, undefined);
  await agent.close();
});

test('without a client certificate the server refuses with invalid_client, not retried', async () => {
  const agent = new Agent({ connect: { ca: pem['ca.crt'] } });
  const client = new TokenClient({ issuer, auth: { method: 'tls_client_auth', clientId: 'orders' }, dispatcher: agent });
  const before = seen.length;
  await assert.rejects(client.getToken(), (e: unknown) => e instanceof OAuthErrorResponse && e.error === 'invalid_client' && e.status === 401);
  assert.equal(seen.length - before, 1);
  await agent.close();
});

test('without the CA the TLS handshake fails: ERR_NETWORK, not a crash', async () => {
  const client = new TokenClient({ issuer, auth: { method: 'tls_client_auth', clientId: 'orders' }, retry: false });
  await assert.rejects(client.getToken(), (e: any) => e.code === 'ERR_NETWORK');
});
