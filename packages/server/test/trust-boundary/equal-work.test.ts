import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { DummyAssertionVerifier } from '../../src/client-auth/equal-work.js';
import { parseForm, type OAuthRequest } from '../../src/shared/oauth-request.js';
import { OAuthError } from '../../src/shared/errors.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const N = Number(process.env.LATCHKEY_TIMING_RUNS ?? 600);

/**
 * Issue #14 Why 7: an assertion naming an existing private_key_jwt client cost +165 µs over one naming
 * an unknown id (the signature check), so ids could be enumerated by timing. The unknown path now
 * verifies against a dummy key of the same alg. Measured in-process (no HTTP noise), interleaved, many
 * samples; the bound is generous — the unknown path's median must be at least half the known one's
 * (before the fix it was a few percent).
 */
describe('equal work for unknown and known client ids on the assertion path', () => {
  let srv: TestServer;
  const clients: Record<string, string> = {};
  const attackerKeys: Record<string, CryptoKey> = {};

  before(async () => {
    srv = await startTestServer();
    for (const alg of ['RS256', 'ES256']) {
      const real = await generateKeyPair(alg);
      attackerKeys[alg] = (await generateKeyPair(alg)).privateKey;
      const c = await srv.createClient({
        client_name: `pkjwt-${alg}`,
        scope: 'a',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(real.publicKey)), alg, use: 'sig' }] },
      });
      clients[alg] = c.client_id;
    }
  });
  after(() => srv.close());

  const request = async (alg: string, sub: string): Promise<OAuthRequest> => {
    const jwt = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg })
      .setIssuer(sub)
      .setSubject(sub)
      .setAudience(srv.issuer)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(attackerKeys[alg]!);
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }).toString();
    return { method: 'POST', url: `${srv.url}/oauth2/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: body, remoteAddress: '127.0.0.1' };
  };

  const time = async (req: OAuthRequest): Promise<number> => {
    const params = parseForm(req);
    const t0 = process.hrtime.bigint();
    await assert.rejects(srv.running.composed.authentication.authenticate(req, params), (e) => e instanceof OAuthError && e.error === 'invalid_client');
    return Number(process.hrtime.bigint() - t0) / 1000;
  };

  for (const alg of ['RS256', 'ES256']) {
    it(`${alg}: unknown id median ≥ ½ known id median (${N} interleaved samples each)`, async () => {
      // Pre-built requests: signing is not what is measured.
      const known: OAuthRequest[] = [];
      const unknown: OAuthRequest[] = [];
      for (let i = 0; i < N; i++) {
        known.push(await request(alg, clients[alg]!));
        unknown.push(await request(alg, `nobody-${alg}-${i}`));
      }
      for (let i = 0; i < 30; i++) {
        await time(known[i]!);
        await time(unknown[i]!);
      }
      const tk: number[] = [];
      const tu: number[] = [];
      for (let i = 0; i < N; i++) {
        if (i % 2) {
          tk.push(await time(known[i]!));
          tu.push(await time(unknown[i]!));
        } else {
          tu.push(await time(unknown[i]!));
          tk.push(await time(known[i]!));
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const mk = median(tk);
      const mu = median(tu);
      process.stdout.write(`# ${alg}: median known ${mk.toFixed(1)} µs, unknown ${mu.toFixed(1)} µs\n`);
      assert.ok(mu >= mk / 2, `unknown ${mu.toFixed(1)} µs vs known ${mk.toFixed(1)} µs`);
    });
  }

  it('the dummy verifier runs for asymmetric algs only, with a bounded key table', () => {
    const d = new DummyAssertionVerifier();
    d.verify('a.b.c', 'RS256');
    d.verify('a.b.c', 'none');
    d.verify('a.b.c', 'x'.repeat(1000));
    d.verify('a.b.c', 'HS256');
    assert.equal(d.runs, 1);
  });
});
