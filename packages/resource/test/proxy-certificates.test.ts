/**
 * Issue #15 items 2 and 3: behind a TLS-terminating proxy, the client certificate comes in
 * `trustedCertificateHeader`. One source order everywhere — the TLS socket's certificate, then the
 * header (when configured and the request came from a `trustedProxies` address) — and the same answer
 * from all four adapters and `authenticate()`, for every header format a common proxy produces.
 * Real apps of each framework over real HTTP; certificates from openssl.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Fastify from 'fastify';
import fc from 'fast-check';
import {
  authenticateRequest,
  certificateThumbprint,
  createResourceServer,
  expressAuth,
  getAuth,
  nodeHttpGuard,
  parseForwardedCertificate,
  type ResourceServer,
  type ResourceServerOptions,
} from '../src/index.js';
import { latchkeyFastify } from '../src/adapters/fastify.js';
import { startIssuer, type TestIssuer } from './helpers/issuer.js';

function selfSigned(dir: string, name: string, type: 'ec' | 'rsa' = 'ec'): string {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.cert.pem`);
  const alg = type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...alg, '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return readFileSync(cert, 'utf8');
}

/** nginx `$ssl_client_escaped_cert` (ngx_escape_uri, NGX_ESCAPE_URI_COMPONENT): like encodeURIComponent, and `-` stays as is. */
const nginxEscaped = (pem: string) => encodeURIComponent(pem);
const base64Der = (pem: string) => Buffer.from(new X509Certificate(pem).raw).toString('base64');

/** Every header format we document, as the proxy would send it. */
const FORMATS: Record<string, (pem: string) => string> = {
  'RFC 9440 Client-Cert (:base64 DER:)': (pem) => `:${base64Der(pem)}:`,
  'nginx $ssl_client_escaped_cert (URL-encoded PEM)': nginxEscaped,
  'PEM with spaces instead of newlines': (pem) => pem.trim().replace(/\n/g, ' '),
  'PEM with tabs instead of newlines': (pem) => pem.trim().replace(/\n/g, '\t'),
  'base64 DER': base64Der,
};

interface Answer {
  status: number;
  challenge: string | null;
  body: string;
}
type Ask = (headers: Record<string, string | string[]>) => Promise<Answer>;

interface AdapterApp {
  ask: Ask;
  close(): Promise<void>;
}

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
const httpAsk = (url: string): Ask => async (headers) => {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) for (const v of [value].flat()) pairs.push([name, v]);
  const res = await fetch(`${url}/orders`, { headers: pairs });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.text() };
};

const ADAPTERS: Record<string, (rs: ResourceServer) => Promise<AdapterApp>> = {
  async 'node:http'(rs) {
    const guard = nodeHttpGuard(rs, { scopes: 'read:orders' });
    const server = createServer(async (req, res) => {
      const auth = await guard(req, res);
      if (auth) res.end(JSON.stringify({ client: auth.clientId, binding: auth.binding }));
    });
    const url = await listen(server);
    return { ask: httpAsk(url), close: () => closeServer(server) };
  },
  async express(rs) {
    const app = express();
    app.get('/orders', expressAuth(rs, { scopes: 'read:orders' }), (req, res) => {
      const auth = getAuth(req);
      res.end(JSON.stringify({ client: auth.clientId, binding: auth.binding }));
    });
    const server = createServer(app);
    const url = await listen(server);
    return { ask: httpAsk(url), close: () => closeServer(server) };
  },
  async fastify(rs) {
    const app = Fastify();
    await app.register(latchkeyFastify, { resourceServer: rs, scopes: 'read:orders' });
    app.get('/orders', async (request, reply) => reply.send(JSON.stringify({ client: request.auth?.clientId, binding: request.auth?.binding })));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return { ask: httpAsk(url), close: () => app.close() };
  },
  async fetch(rs) {
    // A node:http → fetch bridge (as Hono's node adapter does); the peer address is known to the bridge only.
    const peers = new WeakMap<Request, IncomingMessage>();
    const server = createServer(async (req, res) => {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers });
      peers.set(request, req);
      const result = await authenticateRequest(rs, request, { scopes: 'read:orders', remoteAddress: (r) => peers.get(r)?.socket.remoteAddress });
      const response = result.ok ? new Response(JSON.stringify({ client: result.auth.clientId, binding: result.auth.binding })) : result.response;
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    });
    const url = await listen(server);
    return { ask: httpAsk(url), close: () => closeServer(server) };
  },
  async 'authenticate()'(rs) {
    return {
      ask: async (headers) => {
        const out = await rs.authenticate({ method: 'GET', url: 'http://127.0.0.1/orders', headers, remoteAddress: '127.0.0.1' }, 'read:orders');
        if (out.ok) return { status: 200, challenge: null, body: JSON.stringify({ client: out.auth.clientId, binding: out.auth.binding }) };
        const challenge = out.response.headers['www-authenticate'];
        return { status: out.response.status, challenge: Array.isArray(challenge) ? challenge.join(', ') : (challenge ?? null), body: out.response.body };
      },
      close: async () => {},
    };
  },
};

describe('client certificates forwarded by a TLS-terminating proxy (issue #15)', () => {
  let as: TestIssuer;
  let dir: string;
  let alice: string;
  let aliceRsa: string;
  let mallory: string;
  before(async () => {
    as = await startIssuer();
    dir = mkdtempSync(join(tmpdir(), 'lk-proxy-cert-'));
    alice = selfSigned(dir, 'alice');
    aliceRsa = selfSigned(dir, 'alice-rsa', 'rsa');
    mallory = selfSigned(dir, 'mallory');
  });
  after(async () => {
    await as.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every documented header format yields the certificate (EC and RSA certificates)', () => {
    for (const pem of [alice, aliceRsa]) {
      for (const [name, format] of Object.entries(FORMATS)) {
        const parsed = parseForwardedCertificate(format(pem));
        assert.ok(parsed !== undefined, name);
        assert.equal(certificateThumbprint(parsed), certificateThumbprint(pem), name);
      }
    }
    // The nginx form really does keep the dashes (the bug: a literal "-----BEGIN" was taken for raw PEM).
    assert.ok(nginxEscaped(alice).startsWith('-----BEGIN%20CERTIFICATE-----%0A'));
  });

  it('garbage never throws and never yields a certificate', () => {
    for (const bad of ['', ':', '::', ':!!:', 'abc', '%E0%A4%A', '-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----', 'x'.repeat(100_000)]) {
      const parsed = parseForwardedCertificate(bad);
      assert.equal(parsed === undefined ? undefined : certificateThumbprint(parsed), undefined, JSON.stringify(bad.slice(0, 40)));
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()), (s) => {
        const parsed = parseForwardedCertificate(s);
        return parsed === undefined || certificateThumbprint(parsed) === undefined;
      }),
      { numRuns: 2000 },
    );
  });

  describe('the same request gets the same answer from every adapter', () => {
    const options = (extra: Partial<ResourceServerOptions>): ResourceServerOptions => ({ issuer: as.issuer, audience: as.audience, realm: 'orders', ...extra });
    // name → [resource-server options, headers builder, expected status, expected `error_description`]
    type Case = { name: string; opts: Partial<ResourceServerOptions>; header?: string | string[]; status: number; code?: string };
    const cases: Case[] = [];
    const build = (): Case[] => {
      if (cases.length > 0) return cases;
      const proxied = { trustedCertificateHeader: 'X-SSL-Client-Cert' };
      for (const [name, format] of Object.entries(FORMATS)) {
        cases.push({ name: `bound certificate, ${name}`, opts: proxied, header: format(alice), status: 200 });
      }
      cases.push(
        { name: 'another certificate in the header', opts: proxied, header: nginxEscaped(mallory), status: 401, code: 'ERR_MTLS_CERTIFICATE_MISMATCH' },
        { name: 'no header', opts: proxied, status: 401, code: 'ERR_MTLS_CERTIFICATE_MISSING' },
        { name: 'unparseable header', opts: proxied, header: 'not a certificate', status: 401, code: 'ERR_MTLS_CERTIFICATE_MISSING' },
        { name: 'the header on two lines', opts: proxied, header: [nginxEscaped(alice), nginxEscaped(mallory)], status: 401, code: 'ERR_MTLS_CERTIFICATE_MISSING' },
        { name: 'the header on two lines (PEM with spaces)', opts: proxied, header: [FORMATS['PEM with spaces instead of newlines']!(alice), FORMATS['PEM with spaces instead of newlines']!(alice)], status: 401, code: 'ERR_MTLS_CERTIFICATE_MISSING' },
        { name: 'header not configured', opts: {}, header: nginxEscaped(alice), status: 401, code: 'ERR_MTLS_CERTIFICATE_MISSING' },
        { name: 'peer is a trusted proxy', opts: { ...proxied, trustedProxies: ['127.0.0.0/8'] }, header: base64Der(alice), status: 200 },
        { name: 'peer is not a trusted proxy', opts: { ...proxied, trustedProxies: ['10.0.0.0/8', '::1'] }, header: base64Der(alice), status: 401, code: 'ERR_MTLS_CERTIFICATE_MISSING' },
      );
      return cases;
    };

    it('table: node:http, Express, Fastify, fetch and authenticate() agree', async () => {
      const token = await as.sign({ cnf: { 'x5t#S256': certificateThumbprint(alice) } }, {});
      const rows: string[] = [];
      for (const c of build()) {
        const codes: string[] = [];
        const answers: Record<string, Answer> = {};
        for (const [adapter, start] of Object.entries(ADAPTERS)) {
          const rs = createResourceServer({ ...options(c.opts), onError: (e) => codes.push(`${adapter}:${e.code}`) });
          const app = await start(rs);
          try {
            answers[adapter] = await app.ask({ authorization: `Bearer ${token}`, ...(c.header !== undefined ? { 'x-ssl-client-cert': c.header } : {}) });
          } finally {
            await app.close();
          }
        }
        for (const [adapter, answer] of Object.entries(answers)) {
          assert.equal(answer.status, c.status, `${c.name} — ${adapter}: ${answer.body}`);
          assert.equal(answer.challenge, answers['authenticate()']!.challenge, `${c.name} — ${adapter}: same WWW-Authenticate`);
          if (c.status === 200) {
            assert.deepEqual(JSON.parse(answer.body), { client: 'client-1', binding: { type: 'mtls', x5tS256: certificateThumbprint(alice) } }, `${c.name} — ${adapter}`);
          } else {
            assert.match(answer.challenge!, /^Bearer realm="orders", error="invalid_token", error_description="The access token is invalid"/, `${c.name} — ${adapter}`);
          }
        }
        if (c.code !== undefined) assert.deepEqual(codes, Object.keys(ADAPTERS).map((a) => `${a}:${c.code}`), c.name);
        rows.push(`${c.name}: ${c.status}`);
      }
      assert.equal(rows.length, build().length);
    });
  });

  it('trustedProxies: validated at creation, and only meaningful with trustedCertificateHeader', () => {
    const base = { issuer: as.issuer, audience: as.audience };
    assert.throws(() => createResourceServer({ ...base, trustedCertificateHeader: 'X-Cert', trustedProxies: ['not-an-ip'] }), { code: 'ERR_RESOURCE_CONFIG', path: 'trustedProxies[0]' });
    assert.throws(() => createResourceServer({ ...base, trustedCertificateHeader: 'X-Cert', trustedProxies: ['10.0.0.0/33'] }), { path: 'trustedProxies[0]' });
    assert.throws(() => createResourceServer({ ...base, trustedProxies: ['10.0.0.1'] }), { path: 'trustedProxies' });
    createResourceServer({ ...base, trustedCertificateHeader: 'X-Cert', trustedProxies: ['10.0.0.1', '192.168.0.0/16', 'fd00::/8', '::1'] });
  });
});
