import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeHeapSnapshot } from 'node:v8';
import { createResourceServer } from '../src/index.js';
import { ExpiringLru } from '../src/lru.js';
import { nowSeconds, startIssuer, type TestIssuer } from './helpers/issuer.js';

describe('verified-token cache', () => {
  let as: TestIssuer;
  before(async () => {
    as = await startIssuer();
  });
  after(() => as.close());

  it('returns the same frozen result for a repeated token and stops at exp', async () => {
    let t = Date.now();
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, clock: () => t, clockTolerance: 0 });
    const exp = Math.floor(t / 1000) + 10;
    // iat on the frozen clock: with clockTolerance 0, a real-time iat a second later would be "in the future".
    const token = await as.sign({ exp, iat: Math.floor(t / 1000) });
    const a = await rs.verify(token);
    const b = await rs.verify(token);
    assert.equal(a, b, 'second call is served from the cache');
    assert.equal(rs.stats.cachedTokens, 1);
    t = exp * 1000 - 1;
    assert.equal(await rs.verify(token), a);
    t = exp * 1000;
    await assert.rejects(rs.verify(token), { code: 'ERR_JWT_EXPIRED' });
  });

  it('tampered copies of a cached token are still rejected', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    const token = await as.sign();
    await rs.verify(token);
    const [h, p, s] = token.split('.');
    await assert.rejects(rs.verify(`${h}.${p}.${s!.slice(0, -1)}${s!.endsWith('A') ? 'B' : 'A'}`), { code: 'ERR_JWS_SIGNATURE_INVALID' });
    await assert.rejects(rs.verify(`${h}.${p}x.${s}`), { code: 'ERR_JWS_SIGNATURE_INVALID' });
  });

  it('is bounded', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience, cache: { maxEntries: 10 } });
    for (let i = 0; i < 40; i++) await rs.verify(await as.sign());
    assert.ok(rs.stats.cachedTokens <= 10, `size ${rs.stats.cachedTokens}`);
  });

  it('never keeps the raw token in memory it owns (heap snapshot check)', async () => {
    const rs = createResourceServer({ issuer: as.issuer, audience: as.audience });
    // A distinctive token that lives only inside this closure.
    let token: string | undefined = await as.sign({ jti: `needle-${'q'.repeat(40)}-${nowSeconds()}` });
    // Keep only a reversed copy, so the test itself holds no instance of the needle.
    const reversed = [...token.split('.')[2]!].reverse().join('');
    await rs.verify(token);
    token = undefined;
    const { readFileSync, rmSync, mkdtempSync } = await import('node:fs');
    const path = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'lk-heap-'));
    const file = writeHeapSnapshot(path.join(dir, 'h.heapsnapshot'));
    try {
      const heap = readFileSync(file, 'utf8');
      const signature = [...reversed].reverse().join(''); // built after the snapshot
      assert.equal(heap.includes(signature), false, 'the token signature must not survive in the heap');
      assert.ok(heap.includes(reversed), 'sanity: the snapshot does contain live strings');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(rs.stats.cachedTokens, 1);
  });

  it('LRU: generations, promotion and expiry', () => {
    const lru = new ExpiringLru<number>(4);
    lru.set('a', 1, 100);
    lru.set('b', 2, 100);
    lru.set('c', 3, 100); // 'a','b' move to the old generation
    assert.equal(lru.get('a', 0), 1); // promoted
    lru.set('d', 4, 100);
    lru.set('e', 5, 100); // drops the generation that held 'b'
    assert.equal(lru.get('b', 0), undefined);
    assert.ok(lru.size <= 4);
    assert.equal(lru.get('e', 100), undefined, 'expired at expiresAt');
  });
});
