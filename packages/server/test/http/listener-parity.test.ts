/**
 * One HTTP path (issue #13): the same requests against a plain listener (behind a trusted proxy that
 * may forward client certificates), a TLS listener, and a TLS listener with a client certificate
 * presented, all configured alike (trusted proxy, client CA), get the same status, headers (minus
 * date/connection) and bodies (issuer and token values normalised). Moved here: the parity cases of
 * the former node:http fast path vs Fastify test and the server timeouts test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basic, startTestServer, type TestServer } from '../helpers/harness.js';
import { makePki, type Pki } from '../strong-auth/helpers.js';
import { TIMEOUTS } from '../../src/http/limits.js';
import { send, type Res, type Tls } from './send.js';

const KINDS = ['plain', 'tls', 'tls+client-cert'] as const;
type Kind = (typeof KINDS)[number];

interface Listener {
  kind: Kind;
  srv: TestServer;
  tls: Tls | undefined;
  client: { client_id: string; client_secret: string };
  dpop: { client_id: string; client_secret: string };
}

let pki: Pki;

async function startListeners(trustProxy: string): Promise<Listener[]> {
  const ca = readFileSync(pki.caCert, 'utf8');
  const out: Listener[] = [];
  for (const kind of KINDS) {
    const srv = await startTestServer({
      config: {
        trustProxy,
        tlsCa: pki.caCert,
        rateLimitFailures: 3,
        ...(kind === 'plain' ? { tlsClientCertHeader: 'X-Client-Cert' } : { tlsCert: pki.serverCert, tlsKey: pki.serverKey }),
      },
    });
    const tls: Tls | undefined =
      kind === 'plain' ? undefined : kind === 'tls' ? { ca } : { ca, cert: pki.client('billing').certPem, key: pki.client('billing').keyPem };
    const client = (await srv.createClient({ client_id: 'same-id', scope: 'a b' })) as Listener['client'];
    const dpop = (await srv.createClient({ client_id: 'dpop-id', scope: 'a', dpop_bound_access_tokens: true })) as Listener['dpop'];
    out.push({ kind, srv, tls, client, dpop });
  }
  return out;
}

/** Status, headers and body with what legitimately differs per server (issuer URL, token values, lengths) normalised. */
function normalise(l: Listener, r: Res) {
  const text = r.text.split(l.srv.issuer).join('ISSUER');
  let body: unknown = text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed.access_token === 'string') parsed.access_token = 'ACCESS_TOKEN';
    body = parsed;
  } catch {
    /* not JSON: compare the text */
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (k === 'date' || k === 'connection' || k === 'keep-alive' || v === undefined) continue;
    if (k === 'content-length' && (text !== r.text || JSON.stringify(body).includes('ACCESS_TOKEN'))) continue;
    headers[k] = (Array.isArray(v) ? v.join(', ') : v).split(l.srv.issuer).join('ISSUER');
  }
  return { status: r.status, headers, body };
}

type Case = [name: string, status: number, make: (l: Listener) => [path: string, init: Parameters<typeof send>[2]]];

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const cases: Case[] = [
  ['token: success', 200, (l) => ['/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', l.client.client_secret) }, body: 'grant_type=client_credentials&scope=a' }]],
  ['token: query string on the path', 200, (l) => ['/oauth2/token?x=1', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', l.client.client_secret) }, body: 'grant_type=client_credentials' }]],
  ['token: bad credentials → 401 + WWW-Authenticate', 401, () => ['/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', 'lk_nope'), 'x-forwarded-for': '192.0.2.200' }, body: 'grant_type=client_credentials' }]],
  ['token: malformed form', 400, (l) => ['/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', l.client.client_secret) }, body: 'grant_type=client_credentials&scope=%zz' }]],
  ['token: json body', 400, () => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' }]],
  ['token: malformed json body', 400, () => ['/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }]],
  ['token: no body', 400, () => ['/oauth2/token', { method: 'POST' }]],
  ['token: body over 64 KiB → 413', 413, () => ['/oauth2/token', { method: 'POST', headers: FORM, body: 'x=' + 'a'.repeat(70_000) }]],
  ['token: GET → 405 + Allow', 405, () => ['/oauth2/token', { method: 'GET' }]],
  ['token: PUT → 405 + Allow', 405, () => ['/oauth2/token', { method: 'PUT', headers: FORM, body: 'grant_type=client_credentials' }]],
  // The fail-open regression (issue #13): a DPoP-bound client with a garbage proof is refused on every listener.
  ['token: DPoP-bound client + garbage DPoP proof → 400 invalid_dpop_proof', 400, (l) => ['/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('dpop-id', l.dpop.client_secret), dpop: 'garbage' }, body: 'grant_type=client_credentials' }]],
  ['token: DPoP-bound client without a proof → 400', 400, (l) => ['/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('dpop-id', l.dpop.client_secret) }, body: 'grant_type=client_credentials' }]],
  ['GET authorization server metadata', 200, () => ['/.well-known/oauth-authorization-server', {}]],
  ['GET openid-configuration', 200, () => ['/.well-known/openid-configuration', {}]],
  ['unknown path → 404', 404, () => ['/oauth2/nope?x=1', { method: 'POST', headers: FORM, body: 'x=1' }]],
  ['healthz', 200, () => ['/healthz', {}]],
  // Each case from its own client address (trusted X-Forwarded-For), so one case's failures do not spend
  // the brute-force budget (3 here) of the next.
  ...(['/oauth2/introspect', '/oauth2/revoke'] as const).flatMap((path, p): Case[] => {
    const form = (i: number, extra: Record<string, string> = {}) => ({ ...FORM, 'x-forwarded-for': `192.0.2.${p * 10 + i}`, ...extra });
    return [
      [`${path}: unknown token`, 200, (l) => [path, { method: 'POST', headers: form(1, { authorization: basic('same-id', l.client.client_secret) }), body: 'token=nope' }]],
      [`${path}: query string, no token`, 400, (l) => [`${path}?x=1`, { method: 'POST', headers: form(2, { authorization: basic('same-id', l.client.client_secret) }), body: '' }]],
      [`${path}: wrong secret`, 401, () => [path, { method: 'POST', headers: form(3, { authorization: basic('same-id', 'lk_nope') }), body: 'token=x' }]],
      [`${path}: json body`, 400, () => [path, { method: 'POST', headers: { ...form(4), 'content-type': 'application/json' }, body: '{"token":"x"}' }]],
      [`${path}: body over 64 KiB`, 413, () => [path, { method: 'POST', headers: form(5), body: 'token=' + 'a'.repeat(70_000) }]],
      [`${path}: GET`, 405, () => [path, { method: 'GET', headers: { 'x-forwarded-for': `192.0.2.${p * 10 + 6}` } }]],
    ];
  }),
];

before(() => {
  pki = makePki();
});
after(() => pki?.cleanup());

describe('the OAuth endpoints answer alike on a plain, a TLS and a TLS+client-certificate listener', () => {
  let listeners: Listener[] = [];
  before(async () => {
    listeners = await startListeners('127.0.0.1');
  });
  after(async () => {
    for (const l of listeners) await l.srv.close();
  });
  const req = (l: Listener, path: string, init: Parameters<typeof send>[2] = {}) => send(l.srv.url, path, { ...init, ...(l.tls ? { tls: l.tls } : {}) });

  it('serves each listener kind as configured', () => {
    assert.deepEqual(
      listeners.map((l) => [l.kind, new URL(l.srv.url).protocol]),
      [
        ['plain', 'http:'],
        ['tls', 'https:'],
        ['tls+client-cert', 'https:'],
      ],
    );
  });

  for (const [name, status, make] of cases) {
    it(name, async () => {
      const results = [];
      for (const l of listeners) {
        const [path, init] = make(l);
        results.push(normalise(l, await req(l, path, init)));
      }
      assert.equal(results[0]!.status, status, JSON.stringify(results[0]!.body));
      assert.deepEqual(results[1], results[0], 'tls vs plain');
      assert.deepEqual(results[2], results[0], 'tls+client-cert vs plain');
    });
  }

  it('the answers say what they should (not merely the same everywhere)', async () => {
    const l = listeners[0]!;
    const bad = await req(l, '/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', 'lk_nope'), 'x-forwarded-for': '192.0.2.201' }, body: 'grant_type=client_credentials' });
    assert.match(String(bad.headers['www-authenticate']), /^Basic /);
    assert.equal(JSON.parse(bad.text).error, 'invalid_client');
    const get = await req(l, '/oauth2/token');
    assert.equal(get.headers.allow, 'POST');
    for (const x of listeners) {
      const dpop = await req(x, '/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('dpop-id', x.dpop.client_secret), dpop: 'garbage' }, body: 'grant_type=client_credentials' });
      assert.equal(dpop.status, 400, x.kind);
      assert.equal(JSON.parse(dpop.text).error, 'invalid_dpop_proof', x.kind);
    }
  });

  it('a token issued on a TLS listener with a client certificate is bound to it (x5t#S256); without one it is not', async () => {
    const tokens: Record<string, unknown> = {};
    for (const l of listeners) {
      const r = await req(l, '/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', l.client.client_secret) }, body: 'grant_type=client_credentials&scope=a' });
      const at = JSON.parse(r.text).access_token as string;
      tokens[l.kind] = (JSON.parse(Buffer.from(at.split('.')[1]!, 'base64url').toString()) as { cnf?: unknown }).cnf ?? null;
    }
    assert.equal(tokens.plain, null);
    assert.equal(tokens.tls, null);
    assert.ok(tokens['tls+client-cert'] && typeof (tokens['tls+client-cert'] as Record<string, unknown>)['x5t#S256'] === 'string');
  });

  it('introspection of a live token, then revocation, then introspection again: the same answers everywhere', async () => {
    const results = [];
    for (const l of listeners) {
      const auth = { ...FORM, 'x-forwarded-for': '192.0.2.99', authorization: basic('same-id', l.client.client_secret) };
      const tok = JSON.parse((await req(l, '/oauth2/token', { method: 'POST', headers: auth, body: 'grant_type=client_credentials&scope=a' })).text);
      const intro = async () => {
        const r = await req(l, '/oauth2/introspect', { method: 'POST', headers: auth, body: `token=${tok.access_token}` });
        const b = JSON.parse(r.text);
        return { status: r.status, active: b.active, scope: b.scope, client_id: b.client_id, cache: r.headers['cache-control'] };
      };
      const before = await intro();
      const rev = await req(l, '/oauth2/revoke', { method: 'POST', headers: auth, body: `token=${tok.access_token}` });
      results.push({ before, revoke: [rev.status, rev.text, rev.headers['content-type'] ?? null], after: await intro() });
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[2], results[0]);
    assert.deepEqual(results[0]!.before, { status: 200, active: true, scope: 'a', client_id: 'same-id', cache: 'no-store' });
    assert.deepEqual(results[0]!.revoke, [200, '', null], 'an empty 200 carries no content type');
    assert.equal(results[0]!.after.active, false);
  });

  it('X-Forwarded-For from a trusted peer: the brute-force limit is keyed by the forwarded client address', async () => {
    for (const l of listeners) {
      const attempt = (from: string) =>
        req(l, '/oauth2/token', { method: 'POST', headers: { ...FORM, authorization: basic('same-id', 'lk_bad'), 'x-forwarded-for': `198.51.100.1, ${from}` }, body: 'grant_type=client_credentials' });
      const st = [];
      for (let i = 0; i < 4; i++) st.push((await attempt('203.0.113.1')).status);
      assert.deepEqual(st, [401, 401, 401, 429], l.kind);
      assert.equal((await attempt('203.0.113.2')).status, 401, `${l.kind}: another client address is not blocked`);
    }
  });

  it('the same timeouts on every listener kind', () => {
    for (const l of listeners) {
      const s = l.srv.running.http.server as unknown as { keepAliveTimeout: number; requestTimeout: number; headersTimeout: number; timeout: number };
      assert.deepEqual([s.keepAliveTimeout, s.requestTimeout, s.headersTimeout, s.timeout], [TIMEOUTS.keepAlive, TIMEOUTS.request, TIMEOUTS.headers, TIMEOUTS.connection], l.kind);
    }
  });
});

describe('X-Forwarded-For from an untrusted peer is ignored on every listener kind', () => {
  let listeners: Listener[] = [];
  before(async () => {
    listeners = await startListeners('10.0.0.1');
  });
  after(async () => {
    for (const l of listeners) await l.srv.close();
  });

  // Before the failures below block this address.
  it('a client-certificate header from an untrusted peer is ignored (no x5t#S256 binding)', async () => {
    const l = listeners[0]!;
    const r = await send(l.srv.url, '/oauth2/token', {
      method: 'POST',
      headers: { ...FORM, authorization: basic('same-id', l.client.client_secret), 'x-client-cert': `:${pki.client('billing').x509.raw.toString('base64')}:` },
      body: 'grant_type=client_credentials',
    });
    assert.equal(r.status, 200, r.text);
    const at = JSON.parse(r.text).access_token as string;
    assert.equal((JSON.parse(Buffer.from(at.split('.')[1]!, 'base64url').toString()) as { cnf?: unknown }).cnf, undefined);
  });

  it('failures count against the socket address whatever X-Forwarded-For says', async () => {
    for (const l of listeners) {
      const attempt = (from: string) =>
        send(l.srv.url, '/oauth2/token', {
          method: 'POST',
          headers: { ...FORM, authorization: basic('same-id', 'lk_bad'), 'x-forwarded-for': from },
          body: 'grant_type=client_credentials',
          ...(l.tls ? { tls: l.tls } : {}),
        });
      const st = [];
      for (const from of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) st.push((await attempt(from)).status);
      assert.deepEqual(st, [401, 401, 401, 429], l.kind);
    }
  });
});
