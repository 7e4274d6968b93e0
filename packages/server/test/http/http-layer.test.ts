/**
 * The HTTP layer on its own (http/server.ts): `buildHttpServer` with small framework-free endpoints
 * and one Fastify feature, on real node:http and node:https listeners. What the layer owns — 405 +
 * Allow, 413, 404/500 bodies, client address, client certificate, log line, timeouts, shutdown — is
 * checked here on every listener kind; the real OAuth endpoints are in listener-parity.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, createServer } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { buildHttpServer } from '../../src/http/server.js';
import { BODY_LIMIT, TIMEOUTS } from '../../src/http/limits.js';
import { createOAuthHandler } from '../../src/http/oauth-handler.js';
import { proxyTrust } from '../../src/http/trusted-proxy.js';
import type { HttpFeature, HttpServerOptions, OAuthEndpoint } from '../../src/http/contract.js';
import { jsonResponse } from '../../src/shared/oauth-request.js';
import { makePki, type Pki } from '../strong-auth/helpers.js';
import { send, type Tls } from './send.js';

/** A pino logger whose lines are kept for inspection. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (!l) continue;
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines, raw };
}

/** Endpoints that show what the HTTP layer handed them. */
function testEndpoints(gate: { slowCalled?: () => void; release?: Promise<void> }): OAuthEndpoint[] {
  return [
    {
      path: '/oauth2/echo',
      async handle(r) {
        return jsonResponse(200, {
          method: r.method,
          url: r.url,
          rawBody: r.rawBody ?? null,
          remoteAddress: r.remoteAddress,
          certificate: r.clientCertificate ? { subject: r.clientCertificate.certificate.subject, chainVerified: r.clientCertificate.chainVerified } : null,
        }, { 'cache-control': 'no-store' });
      },
    },
    {
      path: '/oauth2/boom',
      async handle() {
        throw new Error('db password is hunter2');
      },
    },
    {
      path: '/oauth2/slow',
      async handle() {
        gate.slowCalled?.();
        await gate.release;
        return jsonResponse(200, { slow: true });
      },
    },
  ];
}

/** A Fastify feature that shows what Fastify sees for the same request. */
const echoFeature: HttpFeature = {
  name: 'test-echo',
  plugin: async (app) => {
    app.get('/ip', async (req, reply) =>
      reply.send({ ip: req.ip, certificate: req.clientCertificate ? { subject: req.clientCertificate.certificate.subject, chainVerified: req.clientCertificate.chainVerified } : null }),
    );
    app.post('/json', async (req, reply) => reply.send({ got: req.body ?? null }));
    app.get('/crash', async () => {
      throw new Error('db password is hunter2');
    });
  },
};

async function listen(opts: Partial<HttpServerOptions> & { log?: pino.Logger }, gate: Parameters<typeof testEndpoints>[0] = {}) {
  const app = await buildHttpServer({
    issuer: 'https://as.example',
    log: opts.log ?? pino({ level: 'silent' }),
    trustProxy: opts.trustProxy,
    tls: opts.tls,
    clientCertificateHeader: opts.clientCertificateHeader,
    clientCa: opts.clientCa ?? [],
    oauthEndpoints: opts.oauthEndpoints ?? testEndpoints(gate),
    features: opts.features ?? [echoFeature],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { app, url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}` };
}

let pki: Pki;
before(() => {
  pki = makePki();
});
after(() => pki?.cleanup());

const tlsOptions = (withCa: boolean) => ({
  cert: readFileSync(pki.serverCert),
  key: readFileSync(pki.serverKey),
  ...(withCa ? { ca: readFileSync(pki.caCert) } : {}),
  requestCert: true,
  rejectUnauthorized: false,
  minVersion: 'TLSv1.2',
});
const caList = () => [new X509Certificate(readFileSync(pki.caCert))];

const KINDS = ['plain', 'tls', 'tls+client-ca'] as const;
type Kind = (typeof KINDS)[number];

for (const kind of KINDS) {
  describe(`HTTP layer on a ${kind} listener`, () => {
    let srv: Awaited<ReturnType<typeof listen>>;
    let tls: Tls | undefined;
    const captured = capturingLogger();
    before(async () => {
      tls = kind === 'plain' ? undefined : { ca: readFileSync(pki.caCert, 'utf8') };
      srv = await listen({
        log: captured.log,
        ...(kind === 'plain' ? {} : { tls: tlsOptions(kind === 'tls+client-ca') }),
        ...(kind === 'tls+client-ca' ? { clientCa: caList() } : {}),
      });
    });
    after(async () => {
      await srv?.app.close();
    });
    const req = (path: string, o: Parameters<typeof send>[2] = {}) => send(srv.url, path, { ...(tls ? { tls } : {}), ...o });

    it('uses the same timeouts and limits as every other listener', () => {
      const s = srv.app.server as unknown as { keepAliveTimeout: number; requestTimeout: number; headersTimeout: number; timeout: number; maxHeaderSize?: number };
      assert.deepEqual(
        { keepAlive: s.keepAliveTimeout, request: s.requestTimeout, headers: s.headersTimeout, connection: s.timeout },
        { keepAlive: TIMEOUTS.keepAlive, request: TIMEOUTS.request, headers: TIMEOUTS.headers, connection: TIMEOUTS.connection },
      );
    });

    it('OAuth endpoint: POST reaches the handler with the path (no query string) under the issuer, the body as text', async () => {
      const r = await req('/oauth2/echo?client_secret=leak', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2' });
      assert.equal(r.status, 200);
      const b = JSON.parse(r.text);
      assert.equal(b.method, 'POST');
      assert.equal(b.url, 'https://as.example/oauth2/echo');
      assert.equal(b.rawBody, 'a=1&b=2');
      assert.equal(b.remoteAddress, '127.0.0.1');
      assert.equal(b.certificate, null, 'no client certificate presented');
      assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.text)));
    });

    it('OAuth endpoint: every other method → 405 + Allow: POST with the one error body', async () => {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
        const r = await req('/oauth2/echo', { method });
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.allow, 'POST', method);
        assert.equal(r.headers['cache-control'], 'no-store', method);
        assert.deepEqual(JSON.parse(r.text), { error: 'invalid_request', error_description: 'method not allowed; use POST' }, method);
      }
      const head = await req('/oauth2/echo', { method: 'HEAD' });
      assert.equal(head.status, 405);
      assert.equal(head.headers.allow, 'POST');
      assert.equal(head.text, '');
    });

    it('413 for a body over the limit — declared or chunked, on the OAuth handler and on Fastify routes alike', async () => {
      const big = 'x=' + 'a'.repeat(BODY_LIMIT);
      const expected = { error: 'invalid_request', error_description: `request body larger than ${BODY_LIMIT} bytes` };
      for (const [path, chunked, ct] of [
        ['/oauth2/echo', false, 'application/x-www-form-urlencoded'],
        ['/oauth2/echo', true, 'application/x-www-form-urlencoded'],
        ['/json', false, 'application/json'],
        ['/json', true, 'application/json'],
      ] as const) {
        const r = await req(path, { method: 'POST', headers: { 'content-type': ct }, body: big, chunked });
        assert.equal(r.status, 413, `${path} chunked=${chunked}`);
        assert.deepEqual(JSON.parse(r.text), expected);
        assert.equal(r.headers['cache-control'], 'no-store');
      }
      const atLimit = await req('/oauth2/echo', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a'.repeat(BODY_LIMIT) });
      assert.equal(atLimit.status, 200, 'exactly the limit is accepted');
    });

    it('500: a fixed body, the cause only in the log — from an OAuth endpoint and from a Fastify route', async () => {
      for (const [path, method] of [['/oauth2/boom', 'POST'], ['/crash', 'GET']] as const) {
        const r = await req(path, { method, ...(method === 'POST' ? { body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}) });
        assert.equal(r.status, 500, path);
        assert.deepEqual(JSON.parse(r.text), { error: 'server_error', error_description: 'internal error' });
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.doesNotMatch(r.text, /hunter2/);
      }
      assert.ok(captured.lines.some((l) => l.msg === 'unhandled error' && JSON.stringify(l).includes('hunter2')), 'the cause is logged');
    });

    it('404 for an unknown path, one body', async () => {
      const r = await req('/nope?x=1', { method: 'POST', body: 'x' });
      assert.equal(r.status, 404);
      assert.deepEqual(JSON.parse(r.text), { error: 'not_found', error_description: 'no such endpoint' });
    });

    it('malformed JSON on a Fastify route → 400 invalid_request, not a 500', async () => {
      const r = await req('/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.text).error, 'invalid_request');
    });

    it('one log line per request: method, path without query, status, ms — never headers or bodies', async () => {
      const before = captured.lines.length;
      await req('/oauth2/echo?client_secret=s3cr3t-q', { method: 'POST', headers: { authorization: 'Basic czNjcjN0LWg=', 'content-type': 'text/plain' }, body: 's3cr3t-b' });
      await req('/ip?token=s3cr3t-q', { headers: { authorization: 'Bearer s3cr3t-h' } });
      const lines = captured.lines.slice(before).filter((l) => l.msg === 'request');
      assert.deepEqual(
        lines.map((l) => [l.method, l.path, l.status, typeof l.ms]),
        [
          ['POST', '/oauth2/echo', 200, 'number'],
          ['GET', '/ip', 200, 'number'],
        ],
      );
      assert.doesNotMatch(captured.raw.join('\n'), /s3cr3t|czNjcjN0/);
    });

    if (kind !== 'plain') {
      it('client certificates from the TLS socket reach OAuth endpoints and Fastify features alike; the chain counts as verified only against a configured CA', async () => {
        const certTls = (name: string) => ({ ...tls!, cert: pki.client(name).certPem, key: pki.client(name).keyPem });
        for (const [name, verified] of [
          ['orders', kind === 'tls+client-ca'],
          ['selfsigned', false],
          ['imposter', false],
        ] as const) {
          const viaOAuth = JSON.parse((await req('/oauth2/echo', { method: 'POST', body: '', tls: certTls(name) })).text).certificate;
          const viaFastify = JSON.parse((await req('/ip', { tls: certTls(name) })).text).certificate;
          assert.deepEqual(viaOAuth, { subject: pki.client(name).x509.subject, chainVerified: verified }, name);
          assert.deepEqual(viaFastify, viaOAuth, `${name}: Fastify sees the same certificate`);
        }
      });

      it('a certificate header from an untrusted peer is ignored on a TLS listener', async () => {
        const r = await req('/oauth2/echo', { method: 'POST', body: '', headers: { 'x-client-cert': `:${pki.client('orders').x509.raw.toString('base64')}:` } });
        assert.equal(JSON.parse(r.text).certificate, null);
      });
    }
  });
}

describe('client address: the OAuth handler and Fastify req.ip agree (one trust rule)', () => {
  let srv: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    srv = await listen({ trustProxy: '127.0.0.1, 10.0.0.0/8, ::1' });
  });
  after(async () => srv?.app.close());
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  after(() => agent.destroy());

  const addresses = (xff: string | undefined) =>
    Promise.all([
      send(srv.url, '/oauth2/echo', { method: 'POST', body: '', agent, ...(xff === undefined ? {} : { headers: { 'x-forwarded-for': xff } }) }).then((r) => JSON.parse(r.text).remoteAddress as string),
      send(srv.url, '/ip', { agent, ...(xff === undefined ? {} : { headers: { 'x-forwarded-for': xff } }) }).then((r) => JSON.parse(r.text).ip as string),
    ]);

  it('known cases', async () => {
    for (const [xff, want] of [
      [undefined, '127.0.0.1'],
      ['203.0.113.7', '203.0.113.7'],
      ['198.51.100.1, 203.0.113.7', '203.0.113.7'],
      ['203.0.113.7, 10.1.2.3', '203.0.113.7'],
      ['10.9.9.9, 10.1.2.3', '10.9.9.9'],
      ['203.0.113.7,,  10.1.2.3 ,', '203.0.113.7'],
      ['not-an-ip, 10.1.2.3', 'not-an-ip'],
    ] as const) {
      const [oauth, fastify] = await addresses(xff);
      assert.equal(oauth, want, String(xff));
      assert.equal(fastify, want, String(xff));
    }
  });

  it('random X-Forwarded-For chains (fast-check)', async () => {
    const hop = fc.oneof(
      fc.constantFrom('10.0.0.1', '10.200.3.4', '127.0.0.1', '::1', '203.0.113.9', '198.51.100.20', '2001:db8::1', '::ffff:10.1.1.1', 'unknown', '', ' '),
      fc.ipV4(),
    );
    const pad = fc.constantFrom('', ' ', '  ', '\t');
    const xff = fc.array(fc.tuple(pad, hop, pad), { minLength: 1, maxLength: 6 }).map((hs) => hs.map(([a, h, b]) => a + h + b).join(','));
    await fc.assert(
      fc.asyncProperty(xff, async (v) => {
        const [oauth, fastify] = await addresses(v);
        assert.equal(oauth, fastify, `X-Forwarded-For: ${JSON.stringify(v)}`);
      }),
      { numRuns: 60 },
    );
  });

  it('an untrusted peer: X-Forwarded-For is ignored by both', async () => {
    const other = await listen({ trustProxy: '10.0.0.1' });
    try {
      const [a, b] = await Promise.all([
        send(other.url, '/oauth2/echo', { method: 'POST', body: '', headers: { 'x-forwarded-for': '203.0.113.7' } }).then((r) => JSON.parse(r.text).remoteAddress),
        send(other.url, '/ip', { headers: { 'x-forwarded-for': '203.0.113.7' } }).then((r) => JSON.parse(r.text).ip),
      ]);
      assert.deepEqual([a, b], ['127.0.0.1', '127.0.0.1']);
    } finally {
      await other.app.close();
    }
  });
});

describe('client certificate from a trusted TLS-terminating proxy header', () => {
  const header = (name: string) => ({ 'x-client-cert': `:${pki.client(name).x509.raw.toString('base64')}:` });
  const cert = async (url: string, h: Record<string, string>) => {
    const a = JSON.parse((await send(url, '/oauth2/echo', { method: 'POST', body: '', headers: h })).text).certificate;
    const b = JSON.parse((await send(url, '/ip', { headers: h })).text).certificate;
    assert.deepEqual(b, a, 'Fastify sees the same certificate');
    return a;
  };

  it('from a trusted peer: parsed, chain verified against clientCa by us', async () => {
    const srv = await listen({ trustProxy: '127.0.0.1', clientCertificateHeader: 'X-Client-Cert', clientCa: caList() });
    try {
      assert.deepEqual(await cert(srv.url, header('orders')), { subject: pki.client('orders').x509.subject, chainVerified: true });
      assert.deepEqual(await cert(srv.url, header('imposter')), { subject: pki.client('imposter').x509.subject, chainVerified: false });
      assert.deepEqual(await cert(srv.url, header('expired')), { subject: pki.client('expired').x509.subject, chainVerified: false });
      assert.deepEqual(await cert(srv.url, header('selfsigned')), { subject: pki.client('selfsigned').x509.subject, chainVerified: false });
      assert.equal(await cert(srv.url, { 'x-client-cert': 'garbage' }), null);
      assert.equal(await cert(srv.url, {}), null);
    } finally {
      await srv.app.close();
    }
  });

  it('without clientCa nothing counts as chain-verified', async () => {
    const srv = await listen({ trustProxy: '127.0.0.1', clientCertificateHeader: 'x-client-cert' });
    try {
      assert.deepEqual(await cert(srv.url, header('orders')), { subject: pki.client('orders').x509.subject, chainVerified: false });
    } finally {
      await srv.app.close();
    }
  });

  it('from an untrusted peer: ignored', async () => {
    const srv = await listen({ trustProxy: '10.0.0.1', clientCertificateHeader: 'x-client-cert', clientCa: caList() });
    try {
      assert.equal(await cert(srv.url, header('orders')), null);
    } finally {
      await srv.app.close();
    }
  });
});

describe('shutdown: close() drains', () => {
  for (const kind of ['plain', 'tls'] as Kind[]) {
    it(`${kind}: idle keep-alive sockets close at once, the request in flight finishes with Connection: close, close() resolves, new connections are refused`, async () => {
      let release!: () => void;
      let called!: () => void;
      const slowCalled = new Promise<void>((r) => (called = r));
      const gate = { release: new Promise<void>((r) => (release = r)), slowCalled: () => called() };
      const srv = await listen(kind === 'plain' ? {} : { tls: tlsOptions(false) }, gate);
      const tls = kind === 'plain' ? undefined : { ca: readFileSync(pki.caCert, 'utf8') };
      const agent = kind === 'plain' ? new HttpAgent({ keepAlive: true }) : new HttpsAgent({ keepAlive: true, ca: tls!.ca });
      try {
        // An idle keep-alive socket: one request done, the socket kept by the agent.
        const first = await send(srv.url, '/oauth2/echo', { method: 'POST', body: '', agent, ...(tls ? { tls } : {}) });
        assert.equal(first.status, 200);
        const idle: Socket | undefined = Object.values(agent.freeSockets).flat()[0];
        assert.ok(idle, 'the agent keeps an idle socket');
        const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));

        // A request in flight on another connection.
        const inFlight = send(srv.url, '/oauth2/slow', { method: 'POST', body: '', ...(tls ? { tls } : {}) });
        await slowCalled;

        let closed = false;
        const closing = srv.app.close().then(() => {
          closed = true;
        });
        await idleClosed;
        assert.equal(closed, false, 'close() waits for the request in flight');
        await assert.rejects(send(srv.url, '/oauth2/echo', { method: 'POST', body: '', ...(tls ? { tls } : {}) }), /ECONNREFUSED/);

        release();
        const r = await inFlight;
        assert.equal(r.status, 200);
        assert.deepEqual(JSON.parse(r.text), { slow: true });
        assert.equal(r.headers.connection, 'close');
        await closing;
        assert.equal(closed, true);
      } finally {
        release();
        agent.destroy();
        await srv.app.close().catch(() => {});
      }
    });
  }
});

describe('malformed HTTP: a 4xx, never a 5xx or a crash', () => {
  let srv: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    srv = await listen({ trustProxy: '127.0.0.1', clientCertificateHeader: 'x-client-cert', clientCa: caList() });
  });
  after(async () => srv?.app.close());

  /** Writes raw bytes on a fresh connection; resolves with the status line of the answer ('' if none). */
  const raw = (bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(Number(new URL(srv.url).port), '127.0.0.1');
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
      sock.on('error', reject);
      sock.on('close', () => resolve(got.split('\r\n', 1)[0] ?? ''));
      sock.end(bytes);
    });

  it('broken request lines, headers and lengths on the OAuth paths', async () => {
    for (const bytes of [
      'GARBAGE\r\n\r\n',
      'POST /oauth2/echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /oauth2/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
      'POST /oauth2/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST /oauth2/echo HTTP/1.1\r\nHost: x\r\nX: ' + 'a'.repeat(20_000) + '\r\n\r\n',
    ]) {
      const status = await raw(bytes);
      assert.match(status, /^HTTP\/1\.1 4\d\d /, JSON.stringify(bytes.slice(0, 60)));
    }
    const ok = await send(srv.url, '/oauth2/echo', { method: 'POST', body: 'still=up' });
    assert.equal(ok.status, 200, 'the server still serves');
  });

  it('random header values on the OAuth endpoint (fast-check)', async () => {
    const value = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')); // what node lets a client send
    await fc.assert(
      fc.asyncProperty(fc.record({ xff: value, cert: value, ct: value, body: fc.string({ maxLength: 200 }) }), async (h) => {
        const r = await send(srv.url, '/oauth2/echo?q', {
          method: 'POST',
          headers: { 'x-forwarded-for': h.xff, 'x-client-cert': h.cert, 'content-type': h.ct },
          body: h.body,
        });
        assert.ok(r.status < 500, `${r.status} ${r.text}`);
      }),
      { numRuns: 80 },
    );
  });
});

describe('OAuth handler while closing', () => {
  it('a request that arrives after close() began gets 503 temporarily_unavailable + Connection: close', async () => {
    const handler = createOAuthHandler({
      issuer: 'https://as.example',
      log: pino({ level: 'silent' }),
      endpoints: testEndpoints({}),
      proxy: proxyTrust(undefined),
      certificates: undefined,
      bodyLimit: BODY_LIMIT,
    });
    const server = createServer((req, res) => {
      if (!handler.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await send(url, '/oauth2/echo', { method: 'POST', body: '' })).status, 200);
      handler.startClosing();
      const r = await send(url, '/oauth2/echo', { method: 'POST', body: '' });
      assert.equal(r.status, 503);
      assert.equal(r.headers.connection, 'close');
      assert.equal(r.headers['retry-after'], '1');
      assert.equal(JSON.parse(r.text).error, 'temporarily_unavailable');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
