import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { OAuthRequest } from '../../src/shared/oauth-request.js';
import { basic, startTestServer, type TestServer } from '../helpers/harness.js';

// RFC 6749 §5.2 codes (+ RFC 8707 invalid_target, RFC 9449 DPoP) and the statuses the endpoint may use.
const ERROR_CODES = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'too_many_requests',
]);
const STATUSES = new Set([200, 400, 401, 405, 413, 415, 429]);
const RUNS = Number(process.env.LATCHKEY_FUZZ_RUNS ?? 100_000);

const PARAM_NAMES = ['grant_type', 'scope', 'resource', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'audience', '__proto__', 'constructor', 'x'];

describe('token endpoint fuzzing (fast-check)', () => {
  let srv: TestServer;
  let good: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    good = (await srv.createClient({ client_name: 'fuzz', scope: 'a b c', audience: ['https://api.example'] })) as typeof good;
  });
  after(() => srv.close());

  const value = () =>
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('client_credentials', 'a b', 'a', 'https://api.example', '%', '%zz', '%E0%A4%A', '+', '&&', '==', ''),
    );
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 10 })), value());
  const encodedBody = fc.array(pair, { maxLength: 8 }).map((ps) => ps.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  const rawBody = fc.oneof(encodedBody, fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }));
  const contentType = fc.oneof(
    fc.constant('application/x-www-form-urlencoded'),
    fc.constant('application/x-www-form-urlencoded; charset=utf-8'),
    fc.constant('APPLICATION/X-WWW-FORM-URLENCODED'),
    fc.constantFrom('application/json', 'text/plain', 'multipart/form-data', ''),
    fc.string({ maxLength: 30 }),
  );
  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 60 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
    fc.string({ maxLength: 60 }),
    // The real id with a wrong secret: must never get a token.
    fc.string({ maxLength: 50 }).map((s) => `WRONG:${s}`),
  );

  it(`${RUNS} random requests in-process: only allowed statuses and RFC 6749 error codes, no token for bad credentials`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(rawBody, contentType, authorization, fc.ipV4(), async (body, ct, authz, ip) => {
        n++;
        let a = authz;
        let wrongSecret = false;
        if (a?.startsWith('WRONG:')) {
          const s = a.slice(6);
          wrongSecret = s !== good.client_secret;
          a = basic(good.client_id, s);
        }
        const req: OAuthRequest = {
          method: 'POST',
          url: `${srv.issuer}/oauth2/token`,
          headers: { 'content-type': ct, ...(a !== undefined ? { authorization: a } : {}) },
          rawBody: body,
          remoteAddress: ip,
        };
        const res = await srv.running.composed.endpoints.token.handle(req);
        assert.ok(STATUSES.has(res.status), `status ${res.status}`);
        const json = JSON.parse(res.body);
        assert.ok(!/at .*\(|node:internal|Error:/.test(res.body), 'no stack text');
        if (res.status === 200) {
          assert.ok(!wrongSecret, 'a token for a wrong secret');
          assert.ok(a !== undefined && !wrongSecret, 'a token without the right credentials');
          assert.equal(typeof json.access_token, 'string');
        } else {
          assert.ok(ERROR_CODES.has(json.error), `error code ${json.error}`);
          assert.equal(typeof json.error_description, 'string');
          assert.deepEqual(Object.keys(json).sort(), ['error', 'error_description']);
        }
      }),
      { numRuns: RUNS },
    );
    assert.equal(n >= RUNS, true);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  it('valid requests with random extra parameters still succeed or fail cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pair, { maxLength: 5 }), fc.subarray(['a', 'b', 'c']), async (extra, scopes) => {
        const p = new URLSearchParams({ grant_type: 'client_credentials' });
        if (scopes.length) p.set('scope', scopes.join(' '));
        for (const [k, v] of extra) if (!PARAM_NAMES.includes(k)) p.append(k, v);
        const res = await srv.running.composed.endpoints.token.handle(
          {
            method: 'POST',
            url: `${srv.issuer}/oauth2/token`,
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(good.client_id, good.client_secret) },
            rawBody: p.toString(),
            remoteAddress: '10.9.9.9',
          },
        );
        // Unknown parameters are ignored (RFC 6749 §3.2) unless repeated.
        const repeated = new Set<string>();
        const seen = new Set<string>();
        // Empty values count as omitted (SPEC §3), so they never make a repeat.
        for (const [k, v] of p) if (v !== '') (seen.has(k) ? repeated : seen).add(k);
        if (repeated.size === 0) assert.equal(res.status, 200, res.body);
        else assert.equal(res.status, 400);
      }),
      { numRuns: 2000 },
    );
  });

  it('1,000 random requests over real HTTP: no 5xx, process alive', async () => {
    const samples = fc.sample(fc.tuple(rawBody, contentType, authorization), 1000);
    for (const [body, ct, authz] of samples) {
      const headers: Record<string, string> = {};
      if (ct) headers['content-type'] = ct.replace(/[^\t\x20-\x7e]/g, '');
      if (authz && !authz.startsWith('WRONG:')) headers.authorization = authz.replace(/[^\t\x20-\x7e]/g, '');
      const res = await fetch(`${srv.url}/oauth2/token`, { method: 'POST', headers, body });
      assert.ok(STATUSES.has(res.status), `status ${res.status}`);
      const text = await res.text();
      assert.ok(!text.includes('"access_token"') || res.status === 200);
    }
    const health = await fetch(`${srv.url}/healthz`);
    assert.equal(health.status, 200);
  });
});
