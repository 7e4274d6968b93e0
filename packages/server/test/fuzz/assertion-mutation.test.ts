import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import type { OAuthRequest } from '../../src/shared/oauth-request.js';
import { basic, startTestServer, type TestServer } from '../helpers/harness.js';

const RUNS = Number(process.env.LATCHKEY_MUTATION_RUNS ?? 10_000);
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

type Jws = { header: unknown; payload: unknown };

/**
 * Mutation operators (issue 9): every one turns a valid JWT into one that must be refused. A mutated JWT
 * is re-signed with the right key where the mutation is semantic (so the signature does not save us),
 * or left unsigned/tampered where the mutation is syntactic.
 */
type Mutation = { name: string; apply: (j: Jws) => Jws | { raw: (signingInput: string, sig: string) => string } };

function headerMutations(kind: 'assertion' | 'dpop'): Mutation[] {
  const set = (k: string, v: unknown): Mutation => ({ name: `header.${k}=${JSON.stringify(v)}`, apply: (j) => ({ ...j, header: { ...(j.header as object), [k]: v } }) });
  const del = (k: string): Mutation => ({ name: `header -${k}`, apply: (j) => ({ ...j, header: Object.fromEntries(Object.entries(j.header as object).filter(([x]) => x !== k)) }) });
  return [
    set('alg', 'none'),
    set('alg', 'HS256'),
    set('alg', 'RS256'),
    set('alg', 'ES384'),
    set('alg', 'es256'),
    set('alg', 7),
    set('typ', kind === 'dpop' ? 'JWT' : 'at+jwt'),
    set('typ', kind === 'dpop' ? 'DPOP+JWT ' : 'dpop+jwt'),
    set('typ', 42),
    set('crit', ['exp']),
    set('crit', ['x-unknown']),
    set('jku', 'https://attacker.example/jwks'),
    set('x5u', 'https://attacker.example/cert'),
    set('x5c', ['MIIB']),
    ...(kind === 'assertion'
      ? [set('kid', 'unknown-kid'), set('kid', 12), set('jwk', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' })]
      : [del('jwk'), set('jwk', 'x'), set('jwk', { kty: 'oct', k: 'AAAA' })]),
    { name: 'header is an array', apply: (j) => ({ ...j, header: [j.header] }) },
  ];
}

function claimMutations(kind: 'assertion' | 'dpop'): Mutation[] {
  const set = (k: string, v: unknown): Mutation => ({ name: `claim.${k}=${JSON.stringify(v)}`, apply: (j) => ({ ...j, payload: { ...(j.payload as object), [k]: v } }) });
  const del = (k: string): Mutation => ({ name: `claim -${k}`, apply: (j) => ({ ...j, payload: Object.fromEntries(Object.entries(j.payload as object).filter(([x]) => x !== k)) }) });
  const common = [
    set('exp', String(Math.floor(Date.now() / 1000) + 60)),
    set('iat', Math.floor(Date.now() / 1000) + 600),
    set('iat', 'now'),
    set('jti', 5),
    set('jti', ''),
    del('jti'),
    { name: 'payload is an array', apply: (j: Jws) => ({ ...j, payload: [j.payload] }) },
    { name: 'payload is a string', apply: (j: Jws) => ({ ...j, payload: 'hello' }) },
  ];
  if (kind === 'dpop') return [...common, set('htm', 'GET'), set('htm', ['POST']), set('htu', 'https://evil.example/oauth2/token'), del('htu'), del('htm'), set('iat', Math.floor(Date.now() / 1000) - 600), del('iat')];
  return [
    ...common,
    set('iss', 'someone-else'),
    set('sub', 'someone-else'),
    set('iss', ['x']),
    set('aud', 'https://evil.example'),
    set('aud', 17),
    set('aud', []),
    set('exp', Math.floor(Date.now() / 1000) - 600),
    set('exp', Math.floor(Date.now() / 1000) + 86_400 * 30),
    del('exp'),
    set('nbf', Math.floor(Date.now() / 1000) + 600),
  ];
}

const syntaxMutations: Mutation[] = [
  { name: 'signature byte flipped', apply: () => ({ raw: (i, s) => `${i}.${flip(s)}` }) },
  { name: 'signature dropped', apply: () => ({ raw: (i) => `${i}.` }) },
  { name: 'two segments', apply: () => ({ raw: (i) => i }) },
  { name: 'four segments', apply: () => ({ raw: (i, s) => `${i}.${s}.${s}` }) },
  { name: 'padding added to signature', apply: () => ({ raw: (i, s) => `${i}.${s}==` }) },
  { name: 'padding added to payload', apply: () => ({ raw: (i, s) => `${i.replace('.', '.')}=.${s}` }) },
  { name: 'non-canonical trailing bits in signature', apply: () => ({ raw: (i, s) => `${i}.${trailing(s)}` }) },
  { name: 'standard base64 alphabet', apply: () => ({ raw: (i, s) => `${i}.${s.replace(/-/g, '+').replace(/_/g, '/')}x+/` }) },
  { name: 'whitespace inside', apply: () => ({ raw: (i, s) => `${i} .${s}` }) },
];

function flip(s: string): string {
  const b = Buffer.from(s, 'base64url');
  if (b.length === 0) return 'AAAA';
  const i = b.length >> 1;
  b[i] = b[i]! ^ 0x01;
  return b.toString('base64url');
}

/** Same bytes, different text: change the unused low bits of the last character. */
function trailing(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = s[s.length - 1]!;
  const idx = alphabet.indexOf(last);
  const unused = s.length % 4 === 2 ? 4 : s.length % 4 === 3 ? 2 : 0;
  if (unused === 0) return s + 'A';
  return s.slice(0, -1) + alphabet[idx ^ 1]!;
}

describe(`mutated client assertions and DPoP proofs (${RUNS} + ${RUNS}): only untouched controls are accepted`, () => {
  let srv: TestServer;
  let key: { privateKey: KeyObject; jwk: Record<string, unknown> };
  let dpopKey: { privateKey: KeyObject; jwk: Record<string, unknown> };
  let pk: { client_id: string };
  let basicC: { client_id: string; client_secret: string };
  let tokenUrl: string;

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    tokenUrl = `${srv.issuer}/oauth2/token`;
    const mk = () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { privateKey, jwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown> };
    };
    key = mk();
    dpopKey = mk();
    pk = await srv.createClient({ client_name: 'pk', scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...key.jwk, kid: 'k1', alg: 'ES256', use: 'sig' }] } });
    basicC = (await srv.createClient({ client_name: 'dpop', scope: 'a' })) as typeof basicC;
  });
  after(() => srv.close());

  /** Serialises and signs (ES256 with `k`, or HS256/none when the header asks), unless a raw rewrite is given. */
  function serialize(j: Jws, k: KeyObject, rewrite?: (signingInput: string, sig: string) => string): string {
    const input = `${b64(j.header)}.${b64(j.payload)}`;
    const alg = (j.header as { alg?: unknown })?.alg;
    let sig: string;
    if (alg === 'none') sig = '';
    else if (alg === 'HS256') sig = createHmac('sha256', JSON.stringify(key.jwk)).update(input).digest('base64url');
    else sig = sign('sha256', Buffer.from(input), { key: k, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return rewrite ? rewrite(input, sig) : `${input}.${sig}`;
  }

  const validAssertion = (): Jws => {
    const now = Math.floor(Date.now() / 1000);
    return { header: { alg: 'ES256', kid: 'k1' }, payload: { iss: pk.client_id, sub: pk.client_id, aud: srv.issuer, exp: now + 60, iat: now, jti: randomUUID() } };
  };
  const validProof = (): Jws => ({
    header: { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: dpopKey.jwk.x, y: dpopKey.jwk.y } },
    payload: { jti: randomUUID(), htm: 'POST', htu: tokenUrl, iat: Math.floor(Date.now() / 1000) },
  });

  const call = (body: string, headers: Record<string, string> = {}) =>
    srv.running.composed.endpoints.token.handle(
      { method: 'POST', url: tokenUrl, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, rawBody: body, remoteAddress: '10.1.1.1' } satisfies OAuthRequest,
    );

  function build(kind: 'assertion' | 'dpop', m: Mutation | undefined): string {
    const base = kind === 'assertion' ? validAssertion() : validProof();
    const k = kind === 'assertion' ? key.privateKey : dpopKey.privateKey;
    if (!m) return serialize(base, k);
    const r = m.apply(base);
    return 'raw' in r ? serialize(base, k, r.raw) : serialize(r, k);
  }

  for (const kind of ['assertion', 'dpop'] as const) {
    it(`${kind}: every mutation refused with the RFC's error; interleaved untouched controls accepted`, async () => {
      const mutations = [...headerMutations(kind), ...claimMutations(kind), ...syntaxMutations];
      const accepted = new Map<string, number>();
      let controls = 0;
      await fc.assert(
        fc.asyncProperty(fc.option(fc.constantFrom(...mutations), { freq: 6 }), async (m) => {
          const jws = build(kind, m ?? undefined);
          const res =
            kind === 'assertion'
              ? await call(new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jws }).toString())
              : await call('grant_type=client_credentials', { authorization: basic(basicC.client_id, basicC.client_secret), dpop: jws });
          const body = JSON.parse(res.body);
          if (!m) {
            controls++;
            assert.equal(res.status, 200, `control refused: ${res.body}`);
            if (kind === 'dpop') assert.equal(body.token_type, 'DPoP');
            return;
          }
          if (res.status === 200) accepted.set(m.name, (accepted.get(m.name) ?? 0) + 1);
          assert.notEqual(res.status, 200, `mutation accepted: ${m.name}`);
          if (kind === 'assertion') {
            assert.ok((res.status === 401 && body.error === 'invalid_client') || (res.status === 400 && body.error === 'invalid_request'), `${m.name}: ${res.status} ${res.body}`);
          } else {
            assert.equal(res.status, 400, `${m.name}: ${res.body}`);
            assert.equal(body.error, 'invalid_dpop_proof', `${m.name}: ${res.body}`);
          }
        }),
        { numRuns: RUNS },
      );
      assert.equal(accepted.size, 0);
      assert.ok(controls > RUNS / 20, `controls: ${controls}`);
    });
  }
});
