import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createDpopVerifier, JoseError, parseCompactJws, validatePublicJwk, type JwkUse } from '../src/index.js';

const onlyJoseErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof JoseError)) throw e;
  }
};

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pubJwk = publicKey.export({ format: 'jwk' });

// Strings that are nearly JWS: three base64url parts of arbitrary JSON-ish text.
const jsonish = fc.oneof(fc.json(), fc.string(), fc.constantFrom('{"alg":"ES256"}', '{"alg":"ES256","crit":[]}', '{"__proto__":{}}', '{"alg":1}', '{}'));
const nearJws = fc.tuple(jsonish, jsonish, fc.uint8Array({ maxLength: 80 })).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${Buffer.from(s).toString('base64url')}`);

describe('fuzz: the core only ever throws JoseError', () => {
  it('parseCompactJws over random and near-JWS strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nearJws, fc.anything()), (s) => onlyJoseErrors(() => parseCompactJws(s))),
      { numRuns: 3000 },
    );
  });

  it('parseCompactJws over mutations of a valid JWS', () => {
    const valid = `${b64('{"alg":"ES256","typ":"JWT"}')}.${b64('{"sub":"a"}')}.${Buffer.alloc(64, 7).toString('base64url')}`;
    fc.assert(
      fc.property(fc.nat(valid.length), fc.string({ maxLength: 4 }), fc.nat(4), (at, ins, del) => {
        onlyJoseErrors(() => parseCompactJws(valid.slice(0, at) + ins + valid.slice(at + del)));
      }),
      { numRuns: 3000 },
    );
  });

  it('validatePublicJwk over arbitrary objects and perturbed real keys', () => {
    const uses: JwkUse[] = ['registration', 'dpop', 'verification'];
    const perturbed = fc.record({
      kty: fc.oneof(fc.constantFrom('EC', 'RSA', 'OKP', 'oct'), fc.anything()),
      crv: fc.oneof(fc.constantFrom('P-256', 'P-384', 'P-521', 'Ed25519', 'Ed448'), fc.anything()),
      x: fc.oneof(fc.constant(pubJwk.x), fc.base64String(), fc.anything()),
      y: fc.oneof(fc.constant(pubJwk.y), fc.string(), fc.anything()),
      n: fc.oneof(fc.base64String(), fc.anything()),
      e: fc.oneof(fc.constant('AQAB'), fc.string()),
      alg: fc.oneof(fc.constantFrom('ES256', 'RS256', 'EdDSA', 'none'), fc.anything()),
      key_ops: fc.anything(),
    }, { requiredKeys: ['kty'] });
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.object(), perturbed), fc.constantFrom(...uses), (jwk, use) => onlyJoseErrors(() => validatePublicJwk(jwk, use))),
      { numRuns: 3000 },
    );
  });

  it('DPoP verifier over random headers, claims and signatures', async () => {
    const v = createDpopVerifier({ maxAge: 60, clockTolerance: 5 });
    const header = fc.record({
      typ: fc.oneof(fc.constant('dpop+jwt'), fc.anything()),
      alg: fc.oneof(fc.constantFrom('ES256', 'RS256', 'none', 'HS256'), fc.anything()),
      jwk: fc.oneof(fc.constant(pubJwk), fc.anything(), fc.object()),
    }, { requiredKeys: [] });
    const claims = fc.record({ jti: fc.anything(), htm: fc.anything(), htu: fc.oneof(fc.webUrl(), fc.anything()), iat: fc.oneof(fc.integer(), fc.anything()), ath: fc.anything(), nonce: fc.anything() }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(header, claims, fc.uint8Array({ maxLength: 70 }), async (h, c, sig) => {
        const proof = `${b64(JSON.stringify(h))}.${b64(JSON.stringify(c))}.${Buffer.from(sig).toString('base64url')}`;
        try {
          await v.verify({ proof, method: 'GET', url: 'https://rs.example/x', accessToken: 't', nonce: (n) => n === 'x', replay: () => true });
        } catch (e) {
          if (!(e instanceof JoseError)) throw e;
          return;
        }
        assert.fail('a random signature verified');
      }),
      { numRuns: 1500 },
    );
    assert.ok(privateKey);
  });
});

it('values whose toString cannot be called (fast-check seed 1267746139) are refused with JoseError, not a TypeError', async () => {
  const JE = JoseError;
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const v = createDpopVerifier({ maxAge: 60, clockTolerance: 5 });
  const hostile = JSON.parse('{"toString":0}') as unknown; // what JSON.parse of a token part yields
  await assert.rejects(v.verify({ proof: `${b64({ typ: hostile, alg: 'ES256' })}.${b64({})}.`, method: 'POST', url: 'https://a.example/t', replay: () => true }), (e: unknown) => e instanceof JE && e.code === 'ERR_DPOP_TYP');
  assert.throws(() => validatePublicJwk({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', alg: hostile }, 'registration'), (e: unknown) => e instanceof JE);
});
