// Whatever an authorization server answers, getToken() resolves with a usable token or rejects with
// a typed LatchkeyClientError: never a TypeError, never an unhandled rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LatchkeyClientError, TokenClient } from '../src/index.js';
import { startScriptedAs } from './helpers/scripted-as.js';

const auth = { method: 'client_secret_basic', clientId: 'svc', clientSecret: 'secret' } as const;

test('arbitrary token endpoint answers give a token or a typed error', async (t) => {
  const as = await startScriptedAs();
  t.after(() => as.close());
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  const tokenish = fc.record(
    {
      access_token: fc.oneof(fc.string(), fc.constant(''), fc.integer(), fc.constant(null)),
      token_type: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'DPoP', 'mac', ''), fc.string(), fc.integer()),
      expires_in: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.string(), fc.double(), fc.constant(null)),
      scope: fc.oneof(fc.string(), fc.integer()),
      error: fc.oneof(fc.constantFrom('invalid_client', 'temporarily_unavailable', 'use_dpop_nonce'), fc.string(), fc.integer()),
      error_description: fc.oneof(fc.string({ maxLength: 2000 }), fc.integer()),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(tokenish, fc.jsonValue(), fc.string(), fc.constant(''));
  const step = fc.record({
    status: fc.constantFrom(200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503),
    body,
    headers: fc.record({ 'retry-after': fc.oneof(fc.constantFrom('0', '1', '999999', 'Thu, 01 Jan 1970 00:00:00 GMT'), fc.string()) }, { requiredKeys: [] }),
  });

  // A lifetime shorter than the round trip is refused, never handed out already expired (found by this property).
  as.script.push({ status: 200, body: { access_token: 'x', token_type: 'Bearer', expires_in: 5e-324 } });
  await assert.rejects(new TokenClient({ issuer: as.issuer, auth, retry: false }).getToken(), { code: 'ERR_INVALID_RESPONSE' });
  as.script.length = 0;

  await fc.assert(
    fc.asyncProperty(step, async (s) => {
      const headers: Record<string, string> = {};
      // Only header values node:http can send.
      for (const [k, v] of Object.entries(s.headers)) if (/^[\x20-\x7e]*$/.test(v)) headers[k] = v;
      as.script.push({ status: s.status, body: s.status === 204 ? '' : s.body, headers });
      const client = new TokenClient({ issuer: as.issuer, auth, retry: false, dpop: false });
      const before = Date.now();
      try {
        const token = await client.getToken();
        assert.equal(typeof token.accessToken, 'string');
        assert.ok(token.accessToken.length > 0);
        assert.ok(token.tokenType === 'Bearer');
        // A positive lifetime counted from when the request was sent (not "still valid now": on a loaded machine a
        // sub-second expires_in may legitimately have been mostly spent in transit).
        assert.ok(Number.isFinite(token.expiresAt) && token.expiresAt > before);
      } catch (e) {
        assert.ok(e instanceof LatchkeyClientError, `untyped error: ${String(e)}`);
        assert.ok(typeof e.code === 'string' && e.code.startsWith('ERR_'));
      }
      as.script.length = 0;
    }),
    { numRuns: 300 },
  );
  assert.deepEqual(unhandled, []);
});
