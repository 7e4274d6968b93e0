/**
 * README statements about behaviour that had no test of their own (issue #15 item 5):
 * token length limits, `maxTokenAge`, `introspection.checkJwts` with a real cache TTL, and the
 * README tables themselves (every option documented, every error row true to the catalog).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createResourceServer, ERROR_CATALOG, type ResourceServerOptions } from '../src/index.js';
import { nowSeconds, startIssuer, type TestIssuer } from './helpers/issuer.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function fakeClock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('README promises', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  describe('maxTokenLength (default 8192): "longer tokens are rejected before any work"', () => {
    it('through the Authorization header: 400 invalid_request; through verify(): ERR_TOKEN_MALFORMED', async () => {
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
      const long = `${'a'.repeat(8190)}.b.c`;
      const out = await rs.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers: { authorization: `Bearer ${long}` } });
      assert.equal(out.ok, false);
      assert.equal(!out.ok && out.error.code, 'ERR_INVALID_REQUEST');
      assert.equal(!out.ok && out.response.status, 400);
      assert.deepEqual(!out.ok && JSON.parse(out.response.body), { error: 'invalid_request', error_description: 'The request is malformed' });
      await assert.rejects(rs.verify(long), { code: 'ERR_TOKEN_MALFORMED', status: 401 });
      await assert.rejects(rs.verify(''), { code: 'ERR_TOKEN_MALFORMED', status: 401 });
      assert.equal(rs.stats.jwksFetches, 0, 'no work: not even the JWKS was fetched');
      // Exactly at the limit, it is a token like any other (here: a forged one).
      const atLimit = `${'a'.repeat(8188)}.b.c`;
      assert.equal(atLimit.length, 8192);
      const ok = await rs.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers: { authorization: `Bearer ${atLimit}` } });
      assert.notEqual(!ok.ok && ok.error.code, 'ERR_INVALID_REQUEST');
    });
  });

  describe('maxTokenAge: "reject tokens whose iat is older (then iat is required)"', () => {
    it('iat is required even when requiredClaims leaves it out', async () => {
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, maxTokenAge: 60, requiredClaims: [] });
      await assert.rejects(rs.verify(await as.sign({}, { omit: ['iat'] })), { code: 'ERR_JWT_CLAIM_INVALID' });
      const lax = createResourceServer({ issuer: as.issuer, audience: as.audience, requiredClaims: [] });
      assert.equal((await lax.verify(await as.sign({}, { omit: ['iat'] }))).clientId, 'client-1');
    });

    it('the bound includes clockTolerance, and a cached verdict does not outlive it', async () => {
      const clock = fakeClock();
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, maxTokenAge: 60, clockTolerance: 5, clock: clock.now });
      const iat = Math.floor(clock.now() / 1000);
      const token = await as.sign({ iat, exp: iat + 3600 });
      const first = await rs.verify(token);
      clock.advance(64_000);
      assert.equal(await rs.verify(token), first, 'still within maxTokenAge + tolerance: the cached verdict');
      clock.advance(2_000); // 66 s after iat > 60 + 5
      await assert.rejects(rs.verify(token), { code: 'ERR_JWT_TOO_OLD', status: 401 });
      const out = await rs.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers: { authorization: `Bearer ${token}` } });
      assert.equal(!out.ok && out.response.status, 401);
      assert.match(!out.ok ? String(out.response.headers['www-authenticate']) : '', /error="invalid_token", error_description="The access token expired"/);
    });

    it('is validated at creation', () => {
      for (const bad of [0, -1, Number.NaN, '60', 366 * 86400 + 1]) {
        assert.throws(() => createResourceServer({ issuer: as.issuer, audience: as.audience, maxTokenAge: bad as number }), { code: 'ERR_RESOURCE_CONFIG', path: 'maxTokenAge' });
      }
    });
  });

  describe('introspection.checkJwts: "a JWT revoked at the issuer is refused within cacheTtl — at the cost of one introspection per new token"', () => {
    const options = (clock: () => number, extra: object = {}): ResourceServerOptions => ({
      issuer: as.issuer,
      audience: as.audience,
      clock,
      introspection: {
        clientAuthentication: { method: 'client_secret_basic', clientId: as.introspectionClient.id, clientSecret: as.introspectionClient.secret },
        checkJwts: true,
        cacheTtl: 30,
        ...extra,
      },
    });
    const active = (jti: string) => ({ active: true, iss: as.issuer, aud: as.audience, client_id: 'client-1', sub: 'client-1', jti, exp: nowSeconds() + 3600 });

    it('one introspection per token per cacheTtl; a revocation shows once the answer expires', async () => {
      const clock = fakeClock();
      const rs = createResourceServer(options(clock.now));
      const jwt = await as.sign({ jti: 'jwt-ttl', exp: nowSeconds() + 3600 });
      as.opaque.set(jwt, active('jwt-ttl'));
      const calls = as.introspectionCalls.length;
      for (let i = 0; i < 5; i++) assert.equal((await rs.verify(jwt)).format, 'jwt');
      assert.equal(as.introspectionCalls.length - calls, 1, 'one introspection for five verifications');
      as.opaque.set(jwt, { active: false }); // revoked at the issuer (RFC 7009)
      clock.advance(29_000);
      assert.equal((await rs.verify(jwt)).format, 'jwt', 'the cached answer still holds within cacheTtl (documented)');
      clock.advance(1_000);
      await assert.rejects(rs.verify(jwt), { code: 'ERR_TOKEN_INACTIVE', status: 401 });
      assert.equal(as.introspectionCalls.length - calls, 2);
      // The introspection call carried the JWT as an access token (RFC 7662 §2.1).
      assert.equal(as.introspectionCalls.at(-1)!.body.get('token'), jwt);
      assert.equal(as.introspectionCalls.at(-1)!.body.get('token_type_hint'), 'access_token');
    });

    it('forged JWTs never reach the issuer; an issuer outage is 503, not a pass', async () => {
      const clock = fakeClock();
      const rs = createResourceServer(options(clock.now));
      const calls = as.introspectionCalls.length;
      const good = await as.sign({ jti: 'jwt-forged' });
      const [h, p] = good.split('.') as [string, string];
      await assert.rejects(rs.verify(`${h}.${p}.${'A'.repeat(86)}`), { code: 'ERR_JWS_SIGNATURE_INVALID' });
      await assert.rejects(rs.verify(await as.sign({ iss: 'https://evil.example' })), { code: 'ERR_JWT_ISSUER_INVALID' });
      assert.equal(as.introspectionCalls.length, calls);
      as.introspectionStatus = 500;
      try {
        const jwt = await as.sign({ jti: 'jwt-outage' });
        as.opaque.set(jwt, active('jwt-outage'));
        await assert.rejects(rs.verify(jwt), { code: 'ERR_INTROSPECTION_UNAVAILABLE', status: 503 });
      } finally {
        as.introspectionStatus = undefined;
      }
    });

    it('without checkJwts, JWTs are never introspected', async () => {
      const clock = fakeClock();
      const rs = createResourceServer(options(clock.now, { checkJwts: false }));
      const calls = as.introspectionCalls.length;
      const jwt = await as.sign({ jti: 'jwt-local' });
      as.opaque.set(jwt, { active: false });
      assert.equal((await rs.verify(jwt)).format, 'jwt');
      assert.equal(as.introspectionCalls.length, calls);
    });
  });

  describe('other statements', () => {
    const req = (token: string) => ({ method: 'GET', url: 'https://api.example.test/orders', headers: { authorization: `Bearer ${token}` } });

    it('"503 carries Retry-After: 5 and no challenge", Cache-Control: no-store', async () => {
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
      as.jwksStatus = 500;
      try {
        const out = await rs.authenticate(req(await as.sign()));
        assert.equal(!out.ok && out.response.status, 503);
        assert.deepEqual(!out.ok && out.response.headers, { 'cache-control': 'no-store', 'retry-after': '5', 'content-type': 'application/json' });
      } finally {
        as.jwksStatus = undefined;
      }
    });

    it('"jwks.timeout": a JWKS endpoint that never answers is ERR_JWKS_UNAVAILABLE after the timeout', async () => {
      // Like fetch, rejects with the signal's reason (a DOMException here).
      const hanging = (input: string | URL, init?: RequestInit) =>
        new URL(String(input)).pathname === '/jwks'
          ? new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)))
          : fetch(input, init);
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, fetch: hanging, jwks: { timeout: 0.3 } });
      const started = Date.now();
      await assert.rejects(rs.verify(await as.sign()), { code: 'ERR_JWKS_UNAVAILABLE', status: 503 });
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 5000, `gave up after ${took} ms`);
    });

    it('"the non-standard scp is not read": scopes come from scope only', async () => {
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
      const auth = await rs.verify(await as.sign({ scope: 'read:orders', scp: ['admin'] }));
      assert.deepEqual([...auth.scopes], ['read:orders']);
      const out = await rs.authenticate(req(await as.sign({ scp: ['write:orders'], scope: 'read:orders' })), 'write:orders');
      assert.equal(!out.ok && out.error.code, 'ERR_INSUFFICIENT_SCOPE');
    });

    it('"tokens never fall back from JWT to introspection after a failed signature"', async () => {
      const rs = createResourceServer({
        issuer: as.issuer,
        audience: as.audience,
        introspection: { clientAuthentication: { method: 'client_secret_basic', clientId: as.introspectionClient.id, clientSecret: as.introspectionClient.secret } },
      });
      const [h, p] = (await as.sign()).split('.') as [string, string];
      const forged = `${h}.${p}.${'A'.repeat(86)}`;
      as.opaque.set(forged, { active: true, iss: as.issuer, aud: as.audience, exp: nowSeconds() + 60 });
      const calls = as.introspectionCalls.length;
      await assert.rejects(rs.verify(forged), { code: 'ERR_JWS_SIGNATURE_INVALID' });
      assert.equal(as.introspectionCalls.length, calls);
    });

    it('"clock skew also applies to the cache": a cached verdict lives until exp + clockTolerance, not beyond', async () => {
      const clock = fakeClock();
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clockTolerance: 5, clock: clock.now });
      const now = Math.floor(clock.now() / 1000);
      const token = await as.sign({ iat: now, exp: now + 10 });
      const first = await rs.verify(token);
      clock.advance(14_000);
      assert.equal(await rs.verify(token), first);
      clock.advance(1_000); // exp + 5
      await assert.rejects(rs.verify(token), { code: 'ERR_JWT_EXPIRED' });
    });

    it('authenticate() resolves for every rejection; only an invalid scopes argument rejects', async () => {
      const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
      for (const authorization of ['', 'Basic abc', 'Bearer', 'Bearer a b', `Bearer ${'x'.repeat(9000)}`, 'Bearer a.b.c', 'DPoP a.b.c']) {
        const out = await rs.authenticate({ method: 'GET', url: 'https://api.example.test/orders', headers: { authorization } });
        assert.equal(out.ok, false, authorization.slice(0, 20));
      }
      await assert.rejects(rs.authenticate(req(await as.sign()), 'bad"scope'), { code: 'ERR_RESOURCE_CONFIG' });
    });

    it('"@latchkey/client is loaded only for introspection": no static value import of it in src', () => {
      const dir = new URL('../src/', import.meta.url);
      const files = ['options.ts', 'resource-server.ts', 'index.ts', 'jwks.ts', 'mtls.ts', 'discovery.ts', 'errors.ts', 'http-json.ts', 'lru.ts', 'scopes.ts', 'algorithms.ts', 'dpop.ts'];
      let dynamic = 0;
      for (const f of files) {
        const src = readFileSync(new URL(f, dir), 'utf8');
        for (const m of src.matchAll(/^import\s+(type\s+)?[^;]*from\s+'@latchkey\/client'/gm)) assert.ok(m[1] !== undefined, `${f}: ${m[0]}`);
        dynamic += [...src.matchAll(/await import\('@latchkey\/client'\)/g)].length;
      }
      assert.equal(dynamic, 1, 'the one dynamic import, in the introspection path');
    });
  });

  it('"Options are validated when the resource server is created": introspection credentials too', () => {
    const base = { issuer: as.issuer, audience: as.audience };
    const cases: [unknown, string][] = [
      [{ method: 'client_secret_basic', clientId: 'rs' }, 'introspection.clientAuthentication.clientSecret'],
      [{ method: 'client_secret_jwt', clientId: 'rs', clientSecret: '' }, 'introspection.clientAuthentication.clientSecret'],
      [{ method: 'private_key_jwt', clientId: 'rs' }, 'introspection.clientAuthentication.privateKey'],
      [{ method: 'none', clientId: 'rs' }, 'introspection.clientAuthentication.method'],
      [{ method: 'client_secret_basic', clientSecret: 's' }, 'introspection.clientAuthentication.clientId'],
      [{ method: 'federated_jwt' }, 'introspection.clientAuthentication.assertion'],
    ];
    for (const [clientAuthentication, path] of cases) {
      assert.throws(() => createResourceServer({ ...base, introspection: { clientAuthentication } } as ResourceServerOptions), { code: 'ERR_RESOURCE_CONFIG', path }, path);
    }
    createResourceServer({ ...base, introspection: { clientAuthentication: { method: 'tls_client_auth', clientId: 'rs' } } });
    createResourceServer({ ...base, introspection: { clientAuthentication: { method: 'federated_jwt', assertion: () => 'platform-token' } } });
  });

  describe('the README tables', () => {
    it('every ResourceServerOptions member has a row in the options table', () => {
      const src = readFileSync(new URL('../src/options.ts', import.meta.url), 'utf8');
      const start = src.indexOf('export interface ResourceServerOptions ');
      const body = src.slice(src.indexOf('{', start) + 1, src.indexOf('\n}', start));
      const names = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
      assert.ok(names.length >= 20, `${names.length} options found`);
      for (const name of names) assert.ok(new RegExp(`^\\| \`${name}(\\.\\w+)?\` \\|`, 'm').test(readme), `${name} has no row in the README options table`);
    });

    it('every error row states the catalog status and error, and every row is a real code', () => {
      const rows = readme.split('\n').filter((l) => /^\| `ERR_[A-Z_]+` \|/.test(l));
      const documented = new Set<string>();
      for (const row of rows) {
        const [, code, status, error] = /^\| `(ERR_[A-Z_]+)` \| (\d{3}) \| ([^|]+) \|/.exec(row) ?? [];
        assert.ok(code !== undefined, row);
        const entry = ERROR_CATALOG[code as keyof typeof ERROR_CATALOG];
        assert.ok(entry !== undefined, `${code} is documented but does not exist`);
        assert.equal(Number(status), entry.status, code);
        assert.equal(error!.trim(), entry.error === undefined ? '—' : `\`${entry.error}\``, code);
        documented.add(code);
      }
      assert.deepEqual([...documented].sort(), Object.keys(ERROR_CATALOG).sort());
    });
  });
});
