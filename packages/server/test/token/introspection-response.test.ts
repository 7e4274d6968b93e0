import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { activeBody, type ResolvedToken } from '../../src/protocol/introspect.js';

const ISSUER = 'https://issuer.example/"quoted"\\path';
const issuerFragment = `,"iss":${JSON.stringify(ISSUER)}`;

/** What the endpoint answered before (JSON.stringify of an object in this key order). */
function reference(t: ResolvedToken): string {
  const body: Record<string, unknown> = {
    active: true,
    scope: t.scope,
    client_id: t.client_id,
    sub: t.sub,
    aud: t.aud,
    iss: t.iss,
    exp: t.exp,
    iat: t.iat,
    jti: t.jti,
    token_type: t.token_type,
  };
  if (t.cnf) body.cnf = t.cnf;
  return JSON.stringify(body);
}

describe('introspection active response from fragments (issue #16)', () => {
  it('fast-check: byte-identical to JSON.stringify of the RFC 7662 object for any strings, audiences and cnf', () => {
    const str = fc.string({ maxLength: 60, unit: 'binary' });
    fc.assert(
      fc.property(
        fc.record({
          format: fc.constantFrom('jwt' as const, 'opaque' as const),
          jti: str,
          client_id: str,
          sub: str,
          scope: str,
          aud: fc.oneof(str, fc.array(str, { maxLength: 4 })),
          iss: fc.oneof(fc.constant(ISSUER), str),
          iat: fc.integer({ min: 0, max: 2 ** 40 }),
          exp: fc.integer({ min: 0, max: 2 ** 40 }),
          cnf: fc.option(fc.oneof(fc.record({ jkt: str }), fc.record({ 'x5t#S256': str })), { nil: undefined }),
          token_type: fc.constantFrom('Bearer', 'DPoP'),
        }),
        (t: ResolvedToken) => {
          const body = activeBody(t, issuerFragment, ISSUER);
          assert.equal(body, reference(t));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
