import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateThumbprint, createResourceServer, nodeHttpGuard, type ResourceServer } from '../src/index.js';
import { startIssuer, type TestIssuer } from './helpers/issuer.js';

interface Pair {
  key: string;
  cert: string;
}

function selfSigned(dir: string, name: string): Pair {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

describe('mTLS certificate-bound tokens (RFC 8705 §3)', () => {
  let as: TestIssuer;
  let dir: string;
  let serverPair: Pair;
  let alice: Pair;
  let mallory: Pair;
  let server: Server;
  let url: string;
  let rs: ResourceServer;

  before(async () => {
    as = await startIssuer();
    dir = mkdtempSync(join(tmpdir(), 'lk-mtls-'));
    serverPair = selfSigned(dir, 'server');
    alice = selfSigned(dir, 'alice');
    mallory = selfSigned(dir, 'mallory');
    rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const guard = nodeHttpGuard(rs, { scopes: 'read:orders' });
    // Self-signed client certificates (self_signed_tls_client_auth): the binding, not the chain, is what we check.
    server = createServer({ ...serverPair, requestCert: true, rejectUnauthorized: false }, async (req, res) => {
      const auth = await guard(req, res);
      if (!auth) return;
      res.end(JSON.stringify({ client: auth.clientId, binding: auth.binding }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await as.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (token: string, client?: Pair) =>
    new Promise<{ status: number; body: string; challenge: string | undefined }>((resolve, reject) => {
      const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca: serverPair.cert, ...(client ?? {}) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, challenge: res.headers['www-authenticate'] }));
      });
      req.on('error', reject);
      req.end();
    });

  it('x5t#S256 is the base64url SHA-256 of the DER certificate', () => {
    const der = new X509Certificate(alice.cert).raw;
    assert.equal(certificateThumbprint(alice.cert), createHash('sha256').update(der).digest('base64url'));
    assert.equal(certificateThumbprint(der), certificateThumbprint(new X509Certificate(alice.cert)));
    assert.equal(certificateThumbprint('not a cert'), undefined);
  });

  it('accepts the bound certificate, rejects another one or none', async () => {
    const token = await as.sign({ cnf: { 'x5t#S256': certificateThumbprint(alice.cert) } });
    const ok = await get(token, alice);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { client: 'client-1', binding: { type: 'mtls', x5tS256: certificateThumbprint(alice.cert) } });
    const wrong = await get(token, mallory);
    assert.equal(wrong.status, 401);
    assert.match(wrong.challenge!, /error="invalid_token"/);
    const none = await get(token);
    assert.equal(none.status, 401);
  });

  it('unbound tokens do not need a certificate', async () => {
    assert.equal((await get(await as.sign())).status, 200);
  });

  it('a trusted proxy header (RFC 9440 Client-Cert) is honoured only when configured', async () => {
    const token = await as.sign({ cnf: { 'x5t#S256': certificateThumbprint(alice.cert) } });
    const der = new X509Certificate(alice.cert).raw;
    const headers = { authorization: `Bearer ${token}`, 'client-cert': `:${Buffer.from(der).toString('base64')}:` };
    const plain = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const out1 = await plain.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers });
    assert.equal(!out1.ok && out1.error.code, 'ERR_MTLS_CERTIFICATE_MISSING');
    const proxied = createResourceServer({ issuer: as.issuer, audience: as.audience, trustedCertificateHeader: 'Client-Cert' });
    const out2 = await proxied.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers });
    assert.equal(out2.ok, true);
    const pem = encodeURIComponent(mallory.cert);
    const out3 = await proxied.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers: { ...headers, 'client-cert': pem } });
    assert.equal(!out3.ok && out3.error.code, 'ERR_MTLS_CERTIFICATE_MISMATCH');
  });
});
