import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { certificateMatches, parseCertificateHeader } from '../../src/client-auth/mtls.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startServer } from '../../src/app/server.js';
import { INVALID_CLIENT, httpsFetch, jwkWithCertificate, makePki, postFormTls, x5tS256, type Pki } from './helpers.js';

const cc = { grant_type: 'client_credentials' };
// outboundAllow: the fake jwks_uri servers listen on loopback, which the outbound policy (SPEC §8) refuses by default.
const NO_LIMIT = { rateLimitFailures: 1_000_000, outboundAllow: ['127.0.0.1'] };

describe('mutual TLS over our own TLS listener (RFC 8705)', () => {
  let pki: Pki;
  let srv: TestServer;
  let token: string;
  let ca: Buffer;
  const ids: Record<string, string> = {};

  before(async () => {
    pki = makePki();
    ca = readFileSync(pki.caCert);
    srv = await startTestServer({ config: { ...NO_LIMIT, tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsCa: pki.caCert } });
    token = `${srv.url}/oauth2/token`;
    const mk = async (name: string, meta: Record<string, unknown>) => {
      ids[name] = (await srv.createClient({ scope: 'a', ...meta })).client_id;
    };
    await mk('dn', { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=orders,O=Acme,C=US' });
    await mk('dns', { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'orders.acme.test' });
    await mk('uri', { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_uri: 'spiffe://acme/orders' });
    await mk('ip', { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_ip: '10.1.2.3' });
    await mk('email', { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_email: 'orders@acme.test' });
    await mk('billing', { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=billing,O=Acme,C=US' });
    await mk('self', { token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [jwkWithCertificate(pki.client('selfsigned').x509)] } });
  });
  after(async () => {
    await srv?.close();
    pki?.cleanup();
  });

  const withCert = (name: string) => ({ ca, cert: pki.client(name).certPem, key: pki.client(name).keyPem });

  it('serves HTTPS with an https issuer', () => {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(srv.issuer, srv.url);
  });

  it('tls_client_auth by subject DN and by each SAN type → 200 with cnf x5t#S256 of the certificate', async () => {
    const thumb = x5tS256(pki.client('orders').x509);
    for (const name of ['dn', 'dns', 'uri', 'ip', 'email']) {
      const r = await postFormTls(token, { ...cc, client_id: ids[name]! }, withCert('orders'));
      assert.equal(r.status, 200, `${name}: ${r.text}`);
      assert.equal(r.json.token_type, 'Bearer');
      const c = decodeJwt(r.json.access_token);
      assert.equal(c.client_id, ids[name]);
      assert.deepEqual(c.cnf, { 'x5t#S256': thumb }, name);
    }
  });

  it('wrong certificate → 401: same subject from a rogue CA, expired, another client’s certificate, self-signed, none', async () => {
    for (const [name, cert] of [
      ['dn', 'imposter'],
      ['dns', 'imposter'],
      ['dn', 'expired'],
      ['dns', 'expired'],
      ['dn', 'billing'],
      ['billing', 'orders'],
      ['dn', 'selfsigned'],
    ] as const) {
      const r = await postFormTls(token, { ...cc, client_id: ids[name]! }, withCert(cert));
      assert.equal(r.status, 401, `${name} with ${cert}: ${r.text}`);
      assert.deepEqual(r.json, INVALID_CLIENT);
    }
    const none = await postFormTls(token, { ...cc, client_id: ids.dn! }, { ca });
    assert.equal(none.status, 401);
    assert.deepEqual(none.json, INVALID_CLIENT);
    const noId = await postFormTls(token, cc, withCert('orders'));
    assert.equal(noId.status, 400, 'client_id is required with mTLS (RFC 8705 §2)');
    assert.equal(noId.json.error, 'invalid_request');
  });

  it('self_signed_tls_client_auth: the registered certificate → 200; another self-signed or CA-issued one → 401', async () => {
    const ok = await postFormTls(token, { ...cc, client_id: ids.self! }, withCert('selfsigned'));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(decodeJwt(ok.json.access_token).cnf, { 'x5t#S256': x5tS256(pki.client('selfsigned').x509) });
    for (const cert of ['selfsigned2', 'orders']) {
      const r = await postFormTls(token, { ...cc, client_id: ids.self! }, withCert(cert));
      assert.equal(r.status, 401, cert);
      assert.deepEqual(r.json, INVALID_CLIENT);
    }
  });

  it('a secret client presenting a certificate gets a certificate-bound token; the certificate is not a second method', async () => {
    const c = (await srv.createClient({ scope: 'a' })) as { client_id: string; client_secret: string };
    const r = await postFormTls(token, cc, withCert('selfsigned2'), { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(decodeJwt(r.json.access_token).cnf, { 'x5t#S256': x5tS256(pki.client('selfsigned2').x509) });
    const plain = await postFormTls(token, cc, { ca }, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(plain.status, 200);
    assert.equal(decodeJwt(plain.json.access_token).cnf, undefined);
  });

  it('tls_client_certificate_bound_access_tokens without a certificate → 400 invalid_request', async () => {
    const c = (await srv.createClient({ scope: 'a', tls_client_certificate_bound_access_tokens: true })) as { client_id: string; client_secret: string };
    const r = await postFormTls(token, cc, { ca }, { authorization: basic(c.client_id, c.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    assert.equal((await postFormTls(token, cc, withCert('orders'), { authorization: basic(c.client_id, c.client_secret) })).status, 200);
  });

  it('opaque certificate-bound tokens show cnf x5t#S256 in introspection', async () => {
    const c = await srv.createClient({ scope: 'a', access_token_format: 'opaque', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'orders.acme.test' });
    const r = await postFormTls(token, { ...cc, client_id: c.client_id }, withCert('orders'));
    assert.equal(r.status, 200, r.text);
    const i = await postFormTls(`${srv.url}/oauth2/introspect`, { token: r.json.access_token, client_id: c.client_id }, withCert('orders'));
    assert.equal(i.status, 200, i.text);
    assert.equal(i.json.active, true);
    assert.deepEqual(i.json.cnf, { 'x5t#S256': x5tS256(pki.client('orders').x509) });
  });

  it('openid-client v6 TlsClientAuth gets a certificate-bound token (independent client)', async () => {
    const tls = withCert('orders');
    const customFetch = ((url: string, init: Parameters<typeof httpsFetch>[1]) => httpsFetch(url, init, tls)) as never;
    const cfg = await oidc.discovery(new URL(srv.issuer), ids.dn!, undefined, oidc.TlsClientAuth(), { [oidc.customFetch]: customFetch });
    cfg[oidc.customFetch] = customFetch;
    const t = await oidc.clientCredentialsGrant(cfg, { scope: 'a' });
    assert.equal(t.token_type.toLowerCase(), 'bearer');
    assert.deepEqual(decodeJwt(t.access_token).cnf, { 'x5t#S256': x5tS256(pki.client('orders').x509) });
  });

  it('metadata advertises both mTLS methods and tls_client_certificate_bound_access_tokens', async () => {
    const r = await httpsFetch(`${srv.url}/.well-known/oauth-authorization-server`, {}, { ca });
    const m = (await r.json()) as any;
    assert.ok(m.token_endpoint_auth_methods_supported.includes('tls_client_auth'));
    assert.ok(m.token_endpoint_auth_methods_supported.includes('self_signed_tls_client_auth'));
    assert.equal(m.tls_client_certificate_bound_access_tokens, true);
    assert.equal(m.mtls_endpoint_aliases, undefined, 'one listener: no aliases needed (RFC 8705 §5)');
  });
});

describe('client certificate from a TLS-terminating proxy header', () => {
  let pki: Pki;
  let trusted: TestServer;
  let untrusted: TestServer;
  const ids: Record<string, string> = {};

  before(async () => {
    pki = makePki();
    const common = { ...NO_LIMIT, tlsClientCertHeader: 'X-Client-Cert', tlsCa: pki.caCert };
    trusted = await startTestServer({ config: { ...common, trustProxy: '127.0.0.1/8' } });
    untrusted = await startTestServer({ config: { ...common, trustProxy: '10.0.0.1' } });
    for (const srv of [trusted, untrusted]) {
      ids[`${srv.url}:dn`] = (await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=orders,O=Acme,C=US' })).client_id;
      ids[`${srv.url}:self`] = (
        await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [jwkWithCertificate(pki.client('selfsigned').x509)] } })
      ).client_id;
    }
  });
  after(async () => {
    await trusted?.close();
    await untrusted?.close();
    pki?.cleanup();
  });

  const escapedPem = (name: string) => encodeURIComponent(pki.client(name).certPem);
  const rfc9440 = (name: string) => `:${pki.client(name).x509.raw.toString('base64')}:`;
  const send = (srv: TestServer, kind: string, header: string) =>
    postForm(`${srv.url}/oauth2/token`, { ...cc, client_id: ids[`${srv.url}:${kind}`]! }, { 'x-client-cert': header });

  it('from a trusted proxy: URL-encoded PEM and RFC 9440 Client-Cert forms → 200, bound to the certificate', async () => {
    for (const h of [escapedPem('orders'), rfc9440('orders')]) {
      const r = await send(trusted, 'dn', h);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(decodeJwt(r.json.access_token).cnf, { 'x5t#S256': x5tS256(pki.client('orders').x509) });
    }
    const s = await send(trusted, 'self', rfc9440('selfsigned'));
    assert.equal(s.status, 200, s.text);
  });

  it('from a trusted proxy, a certificate we cannot verify against tlsCa (rogue CA, expired) is not a tls_client_auth credential', async () => {
    for (const name of ['imposter', 'expired']) {
      const r = await send(trusted, 'dn', escapedPem(name));
      assert.equal(r.status, 401, name);
      assert.deepEqual(r.json, INVALID_CLIENT);
    }
  });

  it('from an untrusted peer the header is ignored → 401 invalid_client (no certificate)', async () => {
    for (const [kind, h] of [
      ['dn', escapedPem('orders')],
      ['self', rfc9440('selfsigned')],
    ] as const) {
      const r = await send(untrusted, kind, h);
      assert.equal(r.status, 401, r.text);
      assert.deepEqual(r.json, INVALID_CLIENT);
    }
    // And a client using a secret gets no certificate binding from a forged header.
    const c = (await untrusted.createClient({ scope: 'a' })) as { client_id: string; client_secret: string };
    const r = await postForm(`${untrusted.url}/oauth2/token`, cc, { authorization: basic(c.client_id, c.client_secret), 'x-client-cert': escapedPem('orders') });
    assert.equal(r.status, 200);
    assert.equal(decodeJwt(r.json.access_token).cnf, undefined);
  });

  it('garbage in the header → 401 (no certificate), never 5xx', async () => {
    for (const h of ['x', ':not base64:', '%ZZ', encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), 'A'.repeat(12000)]) {
      const r = await send(trusted, 'dn', h);
      assert.equal(r.status, 401, h.slice(0, 20));
      assert.deepEqual(r.json, INVALID_CLIENT);
    }
  });

  it('metadata: mTLS methods are advertised when a trusted proxy header is configured', async () => {
    const m = (await (await fetch(`${trusted.url}/.well-known/oauth-authorization-server`)).json()) as any;
    assert.ok(m.token_endpoint_auth_methods_supported.includes('tls_client_auth'));
    assert.equal(m.tls_client_certificate_bound_access_tokens, true);
  });
});

describe('self_signed_tls_client_auth with a jwks_uri (certificate rotation)', () => {
  it('a newly published certificate is found by refetching the JWKS once', async () => {
    const pki = makePki();
    let jwks = { keys: [jwkWithCertificate(pki.client('selfsigned').x509)] };
    let hits = 0;
    const jwksServer = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const a = jwksServer.address();
    const srv = await startTestServer({
      config: { ...NO_LIMIT, tlsClientCertHeader: 'X-Client-Cert', trustProxy: 'loopback', jwksRefreshCooldown: 0 },
    });
    try {
      const c = await srv.createClient({
        scope: 'a',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks_uri: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/jwks`,
      });
      const send = (name: string) =>
        postForm(`${srv.url}/oauth2/token`, { ...cc, client_id: c.client_id }, { 'x-client-cert': `:${pki.client(name).x509.raw.toString('base64')}:` });
      assert.equal((await send('selfsigned')).status, 200);
      assert.equal((await send('selfsigned2')).status, 401, 'not registered yet');
      jwks = { keys: [...jwks.keys, jwkWithCertificate(pki.client('selfsigned2').x509)] };
      const r = await send('selfsigned2');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(decodeJwt(r.json.access_token).cnf, { 'x5t#S256': x5tS256(pki.client('selfsigned2').x509) });
      assert.ok(hits >= 2, 'the JWKS was fetched again');
    } finally {
      await srv.close();
      jwksServer.closeAllConnections();
      await new Promise((r) => jwksServer.close(r));
      pki.cleanup();
    }
  });
});

describe('certificate matching rules (RFC 8705 §2.1.2)', () => {
  let pki: Pki;
  before(() => {
    pki = makePki();
  });
  after(() => pki.cleanup());

  it('subject DN: RFC 4514 order, case-insensitive values and types, OIDs; no partial or reordered match', () => {
    const x = pki.client('orders').x509;
    const m = (dn: string) => certificateMatches(x, { tls_client_auth_subject_dn: dn });
    assert.ok(m('CN=orders,O=Acme,C=US'));
    assert.ok(m('cn=ORDERS, o=acme, c=us'));
    assert.ok(m('2.5.4.3=orders,2.5.4.10=Acme,2.5.4.6=US'));
    assert.ok(!m('CN=orders,O=Acme'), 'missing RDN');
    assert.ok(!m('C=US,O=Acme,CN=orders'), 'reversed order is another DN');
    assert.ok(!m('CN=orders,O=Acme,C=US,DC=x'), 'extra RDN');
    assert.ok(!m('CN=order,O=Acme,C=US'));
    assert.ok(!m(''));
  });

  it('SANs: exact values only — no wildcard, suffix or prefix matching; IPs compared as addresses', () => {
    const x = pki.client('orders').x509;
    assert.ok(certificateMatches(x, { tls_client_auth_san_dns: 'ORDERS.acme.test.' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_dns: 'acme.test' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_dns: '*.acme.test' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_uri: 'spiffe://acme/orders/x' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_uri: 'spiffe://acme/' }));
    assert.ok(certificateMatches(x, { tls_client_auth_san_ip: '10.1.2.3' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_ip: '10.1.2.4' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_ip: 'not-an-ip' }));
    assert.ok(certificateMatches(x, { tls_client_auth_san_email: 'orders@ACME.test' }));
    assert.ok(!certificateMatches(x, { tls_client_auth_san_email: 'Orders@acme.test' }), 'local part is case-sensitive');
    assert.ok(!certificateMatches(x, {}), 'nothing registered matches nothing');
  });

  it('parses RFC 9440, URL-encoded PEM and bare base64 DER; rejects junk', () => {
    const x = pki.client('orders').x509;
    assert.ok(parseCertificateHeader(`:${x.raw.toString('base64')}:`)?.raw.equals(x.raw));
    assert.ok(parseCertificateHeader(encodeURIComponent(x.toString()))?.raw.equals(x.raw));
    assert.ok(parseCertificateHeader(x.raw.toString('base64'))?.raw.equals(x.raw));
    for (const junk of ['', '::', ':x:', '%', 'abc']) assert.equal(parseCertificateHeader(junk), undefined, junk);
  });
});

describe('TLS settings are validated at start-up', () => {
  it('names the bad setting: key without cert, CA without a listener or header, header without trusted proxies, unreadable file', async () => {
    const base = { dataDir: '/nonexistent-latchkey', logLevel: 'silent' };
    assert.throws(() => loadConfig({ ...base, tlsCert: '/x.crt' }, {}), (e: Error) => e instanceof ConfigError && /tlsKey/.test(e.message));
    assert.throws(() => loadConfig({ ...base, tlsCa: '/ca.crt' }, {}), (e: Error) => e instanceof ConfigError && /tlsCa/.test(e.message));
    assert.throws(() => loadConfig({ ...base, tlsClientCertHeader: 'X-Client-Cert' }, {}), (e: Error) => e instanceof ConfigError && /trustProxy/.test(e.message));
    assert.throws(() => loadConfig({ ...base, tlsClientCertHeader: 'bad header' , trustProxy: '127.0.0.1' }, {}), (e: Error) => e instanceof ConfigError && /tlsClientCertHeader/.test(e.message));
    const c = loadConfig({ ...base, tlsCert: '/nonexistent/server.crt', tlsKey: '/nonexistent/server.key' }, {});
    assert.equal(c.issuer, 'https://127.0.0.1:8080', 'a TLS listener makes the default issuer https');
    await assert.rejects(startServer(c), (e: Error) => e instanceof ConfigError && /tlsCert/.test(e.message));
  });
});
