import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createResourceServer, type ResourceServer } from '../src/index.js';
import { nowSeconds, startIssuer, until, type TestIssuer } from './helpers/issuer.js';

/**
 * Issue #15 item 1: a key withdrawn from the JWKS stops validating tokens — cached ones included —
 * once the key set is older than `jwks.maxAge`. Real issuer over HTTP; the only fakes are the clock
 * and a gate that can hold the JWKS response back (to see who waits for a refresh and who does not).
 */
function fakeClock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A fetch that forwards to the real issuer, but can hold JWKS responses until released. */
function gatedFetch() {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let jwksRequests = 0;
  const fetchVia = async (input: string | URL, init?: RequestInit) => {
    if (new URL(String(input)).pathname === '/jwks') {
      jwksRequests++;
      if (gate !== undefined) await gate;
    }
    return fetch(input, init);
  };
  return {
    fetch: fetchVia,
    get jwksRequests() {
      return jwksRequests;
    },
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
    release() {
      gate = undefined;
      open?.();
    },
  };
}

/** Whether `p` settles within a few event-loop turns (a verification that waits on a held fetch does not). */
async function settlesPromptly(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 20 && !settled; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

describe('withdrawn keys: every verification honours the key set age (issue #15)', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  async function withdrawnSetup(opts: { maxAge: number; timeout?: number; kidless?: boolean }) {
    const clock = fakeClock();
    const gated = gatedFetch();
    const key = await as.addKey('ES256');
    const rs: ResourceServer = createResourceServer({
      issuer: as.issuer,
      audience: as.audience,
      clock: clock.now,
      fetch: gated.fetch,
      jwks: { maxAge: opts.maxAge, cooldown: 30, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) },
    });
    const token = await as.sign({ exp: nowSeconds() + 3600 }, { key, ...(opts.kidless ? { kid: null } : {}) });
    await rs.verify(token);
    await rs.verify(token); // cached
    assert.equal(rs.stats.cachedTokens, 1);
    return { clock, gated, key, rs, token };
  }

  it('past maxAge + grace, a cached token of a withdrawn key is refused after one refresh, and dropped from the cache', async () => {
    // The exact scenario of the issue: maxAge 1 s, 4 s after the key left the JWKS.
    const { clock, gated, key, rs, token } = await withdrawnSetup({ maxAge: 1 });
    const fetchesBefore = gated.jwksRequests;
    as.published.delete(key.kid);
    try {
      clock.advance(4_000);
      await assert.rejects(rs.verify(token), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      assert.equal(gated.jwksRequests - fetchesBefore, 1, 'one refresh, no extra unknown-kid fetch within the cooldown');
      assert.equal(rs.stats.cachedTokens, 0, 'the verdict is dropped from the cache');
      // From now on it is a token with an unknown kid: it may spend the unknown-kid budget (one fetch per cooldown).
      for (let i = 0; i < 5; i++) await assert.rejects(rs.verify(token), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      assert.equal(gated.jwksRequests - fetchesBefore, 2);
    } finally {
      as.published.add(key.kid);
    }
  });

  it('a token without kid is refused too once the key that verified it is withdrawn', async () => {
    const { clock, key, rs, token } = await withdrawnSetup({ maxAge: 1, kidless: true });
    as.published.delete(key.kid);
    try {
      clock.advance(4_000);
      await assert.rejects(rs.verify(token), { code: 'ERR_JWS_SIGNATURE_INVALID' });
      assert.equal(rs.stats.cachedTokens, 0);
    } finally {
      as.published.add(key.kid);
    }
  });

  it('within the grace (stale-while-revalidate) the caller does not wait; the refresh lands for the next one', async () => {
    const { clock, gated, key, rs, token } = await withdrawnSetup({ maxAge: 60, timeout: 5 });
    const fetchesBefore = gated.jwksRequests;
    as.published.delete(key.kid);
    gated.hold();
    try {
      clock.advance(61_000); // older than maxAge, younger than maxAge + grace (5 s)
      const served = rs.verify(token);
      assert.equal(await settlesPromptly(served), true, 'served from the keys in hand while the refresh runs');
      assert.equal((await served).clientId, 'client-1');
      assert.equal(rs.stats.jwksFetches, 2, 'the refresh started (initial load + this one)');
      gated.release();
      await until(() => rs.stats.jwksLoads === 2, 'the background refresh');
      await assert.rejects(rs.verify(token), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      assert.equal(rs.stats.cachedTokens, 0);
      assert.ok(gated.jwksRequests - fetchesBefore <= 2, 'the refresh, plus at most the unknown-kid budget');
    } finally {
      gated.release();
      as.published.add(key.kid);
    }
  });

  it('past the grace every caller waits for one single-flight refresh', async () => {
    const { clock, gated, key, rs, token } = await withdrawnSetup({ maxAge: 60, timeout: 5 });
    const fetchesBefore = gated.jwksRequests;
    as.published.delete(key.kid);
    gated.hold();
    try {
      clock.advance(65_000); // maxAge + grace
      const all = Array.from({ length: 50 }, () => rs.verify(token));
      const first = all[0]!;
      assert.equal(await settlesPromptly(first), false, 'waits for the refresh');
      gated.release();
      const results = await Promise.allSettled(all);
      assert.deepEqual(new Set(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'accepted'))), new Set(['ERR_JWKS_NO_MATCHING_KEY']));
      assert.equal(gated.jwksRequests - fetchesBefore, 1, 'single-flight');
    } finally {
      gated.release();
      as.published.add(key.kid);
    }
  });

  it('a key still published keeps its cached tokens valid across refreshes (one fetch per maxAge)', async () => {
    const { clock, gated, rs, token } = await withdrawnSetup({ maxAge: 60, timeout: 5 });
    const fetchesBefore = gated.jwksRequests;
    const first = await rs.verify(token);
    for (let i = 0; i < 3; i++) {
      clock.advance(70_000);
      assert.equal(await rs.verify(token), first, 'still the cached verdict');
    }
    assert.equal(gated.jwksRequests - fetchesBefore, 3);
  });

  it('a refresh that fails past the grace keeps the keys in hand (availability), and is retried after the cooldown', async () => {
    const clock = fakeClock();
    const reported: string[] = [];
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: clock.now, jwks: { maxAge: 60, cooldown: 10 }, onError: (e) => reported.push(e.code) });
    const token = await as.sign({ exp: nowSeconds() + 3600 });
    await rs.verify(token);
    const fetchesBefore = as.jwksFetches;
    as.jwksStatus = 503;
    try {
      clock.advance(120_000);
      assert.equal((await rs.verify(token)).clientId, 'client-1');
      assert.equal((await rs.verify(token)).clientId, 'client-1');
      assert.equal(as.jwksFetches - fetchesBefore, 1, 'no second attempt within the cooldown');
      assert.deepEqual(reported, ['ERR_JWKS_UNAVAILABLE']);
      clock.advance(10_000);
      await rs.verify(token);
      assert.equal(as.jwksFetches - fetchesBefore, 2);
    } finally {
      as.jwksStatus = undefined;
    }
  });
});
