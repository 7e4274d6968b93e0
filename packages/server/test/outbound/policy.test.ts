/**
 * The outbound URL and address policy (SPEC §8, issue #14 "Why 3"): every SSRF form refused at
 * registration on every path (the policy itself, the admin API, RFC 7591 registration), the address
 * classification (IPv4-mapped/compatible/NAT64/6to4 forms judged by the address they embed), the
 * operator's outboundAllow, and a fast-check fuzz: the policy never throws and never lets an internal
 * IPv4 address through in any spelling.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OutboundAllowError, OutboundPolicy, nonPublicReason, parseIp } from '../../src/outbound/index.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { api, tokenFor } from '../admin/helpers.js';

const ISSUER = 'https://auth.example.com';
const policy = new OutboundPolicy({ issuer: ISSUER });

/** Every SSRF form from issue #14 "Why 3", plus their relatives. */
const REFUSED = [
  'https://127.0.0.1:8443/jwks',
  'https://localhost/jwks',
  'https://LOCALHOST./jwks',
  'https://api.localhost/jwks',
  'https://[::1]/jwks',
  'https://0.0.0.0/jwks',
  'https://0/jwks',
  'https://2130706433/jwks', // decimal
  'https://0x7f000001/jwks', // hex
  'https://0x7f.0.0.1/jwks',
  'https://0177.0.0.1/jwks', // octal
  'https://017700000001/jwks',
  'https://127.1/jwks',
  'https://127.0.1/jwks',
  'https://[::ffff:127.0.0.1]/jwks', // IPv4-mapped
  'https://[::ffff:7f00:1]/jwks',
  'https://[::127.0.0.1]/jwks', // IPv4-compatible
  'https://[64:ff9b::a00:1]/jwks', // NAT64 of 10.0.0.1
  'https://[2002:a9fe:a9fe::]/jwks', // 6to4 of 169.254.169.254
  'https://10.0.0.1/jwks',
  'https://172.16.5.4/jwks',
  'https://192.168.1.1/jwks',
  'https://100.64.0.1/jwks', // CGNAT
  'https://169.254.169.254/latest/meta-data', // link-local, cloud metadata
  'https://[fe80::1]/jwks',
  'https://[fd00::1]/jwks', // ULA
  'https://224.0.0.1/jwks', // multicast
  'https://[ff02::1]/jwks',
  'https://255.255.255.255/jwks',
  'file:///etc/passwd',
  'gopher://example.com:70/_x',
  'ftp://example.com/jwks',
  'http://example.com/jwks', // plain http with a public issuer
  'https://user:pass@example.com/jwks', // userinfo
  'https://user@example.com/jwks',
  'https://example.com/jwks#frag',
  'not a url',
  `https://example.com/${'a'.repeat(2100)}`,
];

describe('outbound URL policy', () => {
  it('refuses every SSRF form of issue #14 "Why 3"', () => {
    for (const u of REFUSED) assert.notEqual(policy.urlProblem(u), undefined, u);
  });

  it('accepts public https URLs (names are checked again after DNS, at connect)', () => {
    for (const u of ['https://example.com/jwks', 'https://8.8.8.8/keys', 'https://[2606:4700::1111]/jwks', 'https://keys.example.com:8443/.well-known/jwks.json?v=2']) {
      assert.equal(policy.urlProblem(u), undefined, u);
    }
  });

  it('plain http only while Latchkey’s own issuer is loopback (development)', () => {
    const dev = new OutboundPolicy({ issuer: 'http://127.0.0.1:8080' });
    assert.equal(dev.urlProblem('http://example.com/jwks'), undefined);
    assert.match(dev.urlProblem('http://127.0.0.1:9000/jwks')!, /loopback/, 'the address rule still applies');
  });

  it('outboundAllow: CIDRs, addresses and host names, nothing more; malformed entries are refused when built', () => {
    const p = new OutboundPolicy({ issuer: ISSUER, allow: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1', 'jwks.internal', '*.corp.example'] });
    assert.equal(p.urlProblem('https://10.1.2.3/jwks'), undefined);
    assert.equal(p.urlProblem('https://[::ffff:10.1.2.3]/jwks'), undefined, 'mapped form of an allowed address');
    assert.equal(p.urlProblem('https://[fd12::1]/jwks'), undefined);
    assert.equal(p.urlProblem('https://127.0.0.1/jwks'), undefined);
    assert.notEqual(p.urlProblem('https://127.0.0.2/jwks'), undefined);
    assert.notEqual(p.urlProblem('https://192.168.0.1/jwks'), undefined);
    assert.equal(p.addressRefusal('192.168.0.1', 'jwks.internal'), undefined, 'an allowed name may resolve anywhere');
    assert.equal(p.addressRefusal('192.168.0.1', 'keys.corp.example'), undefined);
    assert.notEqual(p.addressRefusal('192.168.0.1', 'corp.example'), undefined, '*.corp.example does not cover corp.example');
    assert.notEqual(p.addressRefusal('192.168.0.1', 'evilcorp.example'), undefined);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', 'fd00::/129', 'a b', 'https://x']) {
      assert.throws(() => new OutboundPolicy({ issuer: ISSUER, allow: [bad] }), OutboundAllowError, bad);
    }
  });

  it('classifies addresses, judging embedded IPv4 forms by the address they carry', () => {
    const internal = ['127.0.0.1', '0.0.0.0', '10.9.9.9', '172.31.255.255', '192.168.0.1', '100.127.255.255', '169.254.0.1', '224.1.1.1', '::', '::1', 'fe80::1%eth0', 'fc00::1', 'ff05::2', '::ffff:192.168.1.1', '::10.0.0.1', '64:ff9b::7f00:1', '2002:0a00:0001::1'];
    const external = ['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:0808:0808::1'];
    for (const a of internal) assert.notEqual(nonPublicReason(parseIp(a)!), undefined, a);
    for (const a of external) assert.equal(nonPublicReason(parseIp(a)!), undefined, a);
  });

  it('fuzz: never throws; an internal IPv4 address is refused in decimal, hex, octal, short and mapped spellings', () => {
    const internalV4 = fc.oneof(
      fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(10), fc.nat(255), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(192), fc.constant(168), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(169), fc.constant(254), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), fc.nat(255), fc.nat(255)),
      fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), fc.nat(255), fc.nat(255)),
    );
    fc.assert(
      fc.property(internalV4, ([a, b, c, d]) => {
        const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
        const hex = (x: number) => `0x${x.toString(16)}`;
        const spellings = [
          `${a}.${b}.${c}.${d}`,
          String(n),
          `0x${n.toString(16)}`,
          `${hex(a)}.${hex(b)}.${hex(c)}.${hex(d)}`,
          `0${a.toString(8)}.0${b.toString(8)}.0${c.toString(8)}.0${d.toString(8)}`,
          `${a}.${(b << 16) + (c << 8) + d}`,
          `[::ffff:${a}.${b}.${c}.${d}]`,
          `[::ffff:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}]`,
        ];
        for (const h of spellings) if (policy.urlProblem(`https://${h}/jwks`) === undefined) return false;
        return true;
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 40 }), (s, host) => {
        policy.urlProblem(s);
        policy.urlProblem(`https://${host}/x`);
        policy.addressRefusal(host, host);
        return true;
      }),
      { numRuns: 1000 },
    );
  });
});

describe('jwks_uri refused at registration on every path (admin API, RFC 7591)', () => {
  let srv: TestServer;
  let admin: string;
  let iat: string;
  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    admin = await tokenFor(srv, srv.admin.client_id, srv.admin.client_secret);
    iat = (await api(srv, 'POST', '/registration-tokens', { token: admin, body: { scope: 'a', audience: ['https://api.example.com'] } })).json.token as string;
  });
  after(() => srv.close());

  it('each SSRF form → 400 invalid_client_metadata naming jwks_uri', async () => {
    for (const uri of ['https://127.0.0.1:8443/jwks', 'https://localhost/jwks', 'https://[::1]/jwks', 'https://0.0.0.0/jwks', 'https://2130706433/jwks', 'https://0x7f.1/jwks', 'https://127.1/jwks', 'https://169.254.169.254/x', 'https://u:p@example.com/jwks']) {
      const meta = { client_name: 'ssrf', scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: uri };
      const viaAdmin = await api(srv, 'POST', '/clients', { token: admin, body: meta });
      assert.deepEqual([viaAdmin.status, viaAdmin.json.error, viaAdmin.json.field], [400, 'invalid_client_metadata', 'jwks_uri'], uri);
      const res = await fetch(`${srv.url}/oauth2/register`, { method: 'POST', headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, body: JSON.stringify(meta) });
      const body = (await res.json()) as { error: string; field?: string };
      assert.deepEqual([res.status, body.error], [400, 'invalid_client_metadata'], uri);
    }
    // file: and gopher: never even parse as client metadata URIs worth fetching.
    for (const uri of ['file:///etc/passwd', 'gopher://example.com:70/_x']) {
      const r = await api(srv, 'POST', '/clients', { token: admin, body: { scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: uri } });
      assert.deepEqual([r.status, r.json.error, r.json.field], [400, 'invalid_client_metadata', 'jwks_uri'], uri);
    }
  });
});
