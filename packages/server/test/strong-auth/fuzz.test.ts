/**
 * Property tests: whatever a client puts in client_assertion, the DPoP header or claims of a correctly
 * signed JWT, the answer is a 4xx OAuth error — never a 5xx, never a token for a bad request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { basic, postForm, startTestServer, type TestServer } from '../helpers/harness.js';
import { ASSERTION_TYPE, b64url, keyPair, type KeyPair } from './helpers.js';

const cc = { grant_type: 'client_credentials' };
const jsonValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));

describe('strong auth never answers 5xx (property tests)', () => {
  let srv: TestServer;
  let kp: KeyPair;
  let pk: { client_id: string };
  let sec: { client_id: string; client_secret: string };

  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    kp = await keyPair('ES256');
    pk = await srv.createClient({ scope: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [kp.publicJwk] } });
    sec = (await srv.createClient({ scope: 'a' })) as { client_id: string; client_secret: string };
  });
  after(() => srv.close());

  it('arbitrary client_assertion text → 400/401', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.tuple(fc.string(), fc.string(), fc.string()).map(([a, b, c]) => `${a}.${b}.${c}`)), async (text) => {
        const r = await postForm(`${srv.url}/oauth2/token`, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: text });
        assert.ok(r.status === 400 || r.status === 401, `${r.status} ${r.text}`);
      }),
      { numRuns: 150 },
    );
  });

  it('correctly signed assertions with arbitrary claim and header values (type confusion) → 401, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ iss: jsonValue, aud: jsonValue, exp: jsonValue, iat: jsonValue, nbf: jsonValue, jti: jsonValue }, { requiredKeys: [] }),
        fc.record({ kid: jsonValue, typ: jsonValue, cty: jsonValue }, { requiredKeys: [] }),
        async (claims, header) => {
          const payload = new TextEncoder().encode(JSON.stringify({ sub: pk.client_id, ...claims }));
          const jwt = await new CompactSign(payload).setProtectedHeader({ ...header, alg: 'ES256' } as { alg: string }).sign(kp.privateKey);
          const r = await postForm(`${srv.url}/oauth2/token`, { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt });
          // Random values essentially never satisfy iss = client_id and aud = issuer.
          assert.equal(r.status, 401, r.text);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('arbitrary DPoP headers and proof contents → 400, never a DPoP token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
          fc.tuple(fc.dictionary(fc.string(), jsonValue, { maxKeys: 4 }), fc.dictionary(fc.string(), jsonValue, { maxKeys: 4 })).map(
            ([h, p]) => `${b64url({ typ: 'dpop+jwt', alg: 'ES256', ...h })}.${b64url(p)}.AAAA`,
          ),
        ),
        async (proof) => {
          const r = await postForm(`${srv.url}/oauth2/token`, cc, { authorization: basic(sec.client_id, sec.client_secret), ...(proof ? { dpop: proof } : {}) });
          if (proof === '') return assert.ok(r.status === 200 || r.status === 400, r.text);
          assert.equal(r.status, 400, `${proof.slice(0, 60)} → ${r.text}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
