import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createResourceServer, ResourceError, type ResourceServer } from '../src/index.js';
import { encodeSegment, startIssuer, type TestIssuer } from './helpers/issuer.js';

describe('arbitrary input never crashes and never authenticates', () => {
  let as: TestIssuer;
  let rs: ResourceServer;
  let valid: string;
  before(async () => {
    as = await startIssuer();
    rs = createResourceServer({ issuer: as.issuer, audience: as.audience, realm: 'fuzz' });
    valid = await as.sign();
    await rs.verify(valid); // warm: JWKS loaded, token cached
  });
  after(() => as.close());

  const statuses = new Set([400, 401]);

  it('random Authorization / DPoP header values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.option(fc.string({ maxLength: 200 })), async (authorization, dpop) => {
        const out = await rs.authenticate({ method: 'GET', url: 'https://api.example.test/x', headers: { authorization, ...(dpop === null ? {} : { dpop }) } });
        assert.equal(out.ok, false);
        if (out.ok) return;
        assert.ok(out.error instanceof ResourceError);
        assert.ok(statuses.has(out.response.status), `${out.response.status} ${out.error.code}`);
      }),
      { numRuns: 400, seed: 9068 },
    );
  });

  it('random JWS-shaped tokens built from random JSON headers and payloads', async () => {
    const json = fc.dictionary(fc.constantFrom('alg', 'typ', 'kid', 'crit', 'iss', 'aud', 'exp', 'nbf', 'iat', 'cnf', 'scope', 'jwk'), fc.jsonValue(), { maxKeys: 8 });
    await fc.assert(
      fc.asyncProperty(json, json, fc.base64String({ maxLength: 120 }), async (header, payload, sig) => {
        const token = `${encodeSegment(header)}.${encodeSegment(payload)}.${sig.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') || 'AA'}`;
        const out = await rs.authenticate({ method: 'GET', url: 'https://api.example.test/x', headers: { authorization: `Bearer ${token}` } });
        assert.equal(out.ok, false);
        if (!out.ok) assert.ok(statuses.has(out.response.status), `${out.response.status} ${out.error.code}`);
      }),
      { numRuns: 300, seed: 8725 },
    );
  });

  it('single-character mutations of a valid, cached token are all rejected', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...alphabet), async (i, c) => {
        const mutated = valid.slice(0, i) + c + valid.slice(i + 1);
        fc.pre(mutated !== valid);
        await assert.rejects(rs.verify(mutated), (e: unknown) => e instanceof ResourceError && e.status === 401);
      }),
      { numRuns: 300, seed: 8725 },
    );
    assert.equal((await rs.verify(valid)).clientId, 'client-1');
  });
});
