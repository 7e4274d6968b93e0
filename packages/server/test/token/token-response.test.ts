import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tokenResponse } from '../../src/protocol/token.js';
import type { Minted } from '../../src/tokens/mint.js';

describe('token response from fragments (issue #16)', () => {
  it('fast-check: the same bytes as JSON.stringify of the Minted object, for any base64url token and any scope text', () => {
    const b64u = fc.stringMatching(/^[A-Za-z0-9_-]{1,400}(\.[A-Za-z0-9_-]{0,400}){0,2}$/);
    fc.assert(
      fc.property(
        fc.oneof(b64u, b64u.map((t) => 'lko_' + t)),
        fc.constantFrom('Bearer' as const, 'DPoP' as const),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.string({ maxLength: 200, unit: 'binary' }),
        (access_token, token_type, expires_in, scope) => {
          const m: Minted = { access_token, token_type, expires_in, scope };
          const r = tokenResponse(m, undefined);
          assert.equal(r.body, JSON.stringify(m));
          assert.deepEqual(JSON.parse(r.body), m);
          assert.equal(r.status, 200);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('headers: JSON, no-store; a sender constraint adds its own without touching the shared ones', () => {
    const m: Minted = { access_token: 'a.b.c', token_type: 'DPoP', expires_in: 60, scope: 'read' };
    const plain = tokenResponse(m, undefined);
    assert.deepEqual(plain.headers, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });
    const withNonce = tokenResponse(m, { 'dpop-nonce': 'n1' });
    assert.equal(withNonce.headers['dpop-nonce'], 'n1');
    assert.equal(withNonce.headers['cache-control'], 'no-store');
    assert.equal(tokenResponse(m, undefined).headers['dpop-nonce'], undefined, 'the shared object was not changed');
    assert.ok(Object.isFrozen(plain.headers));
  });
});
