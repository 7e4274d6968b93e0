import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basic, startTestServer, type TestServer } from '../helpers/harness.js';

const N = Number(process.env.LATCHKEY_TIMING_RUNS ?? 2000);

/**
 * SPEC §3: unknown client and wrong secret are indistinguishable in body and timing. Both paths do one
 * HMAC and one constant-time compare against in-memory data (a dummy hash for unknown ids). This is a
 * behaviour check with a generous bound (1 ms between medians), interleaved so machine noise hits both.
 */
describe('unknown client vs wrong secret: same body, medians within 1 ms', () => {
  let srv: TestServer;
  let c: { client_id: string; client_secret: string };
  before(async () => {
    srv = await startTestServer({ config: { rateLimitFailures: 1_000_000 } });
    c = (await srv.createClient({ client_name: 't', scope: 'a' })) as typeof c;
  });
  after(() => srv.close());

  it(`2 × ${N} requests`, async () => {
    const url = `${srv.url}/oauth2/token`;
    const send = async (authz: string) => {
      const t0 = process.hrtime.bigint();
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: authz }, body: 'grant_type=client_credentials' });
      const body = await r.text();
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, status: r.status, body };
    };
    const wrong: number[] = [];
    const unknown: number[] = [];
    const bodies = new Set<string>();
    const wrongAuth = basic(c.client_id, c.client_secret.slice(0, -2) + 'xx');
    for (let i = 0; i < 50; i++) await send(wrongAuth); // warm-up
    for (let i = 0; i < N; i++) {
      // The same repetition pattern on both sides: one unknown id, like the one known id. A first probe of
      // any id does one store read whether it exists or not (read-through for unknown ids,
      // ClientCache.equalizeFailure for known ones); repeats within NEGATIVE_TTL_MS do none on either side.
      const unknownAuth = basic('nobody-at-all', c.client_secret);
      // Alternate the order so drift and noise fall on both series alike.
      let w, u;
      if (i % 2) {
        w = await send(wrongAuth);
        u = await send(unknownAuth);
      } else {
        u = await send(unknownAuth);
        w = await send(wrongAuth);
      }
      assert.equal(w.status, 401);
      assert.equal(u.status, 401);
      wrong.push(w.ms);
      unknown.push(u.ms);
      bodies.add(w.body).add(u.body);
    }
    assert.equal(bodies.size, 1, 'identical bodies');
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
    const mw = median(wrong);
    const mu = median(unknown);
    process.stdout.write(`# median wrong-secret ${mw.toFixed(3)} ms, unknown-client ${mu.toFixed(3)} ms, diff ${(mw - mu).toFixed(3)} ms\n`);
    assert.ok(Math.abs(mw - mu) < 1, `medians differ by ${(mw - mu).toFixed(3)} ms`);
  });
});
