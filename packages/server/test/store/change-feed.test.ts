import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { ChangeFeed } from '../../src/store/change-feed.js';
import type { Store } from '../../src/store/store.js';

describe('change feed (store/change-feed.ts) on a real SQLite file', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-feed-'));
    store = openStore(`sqlite:${join(dir, 'store.db')}`);
    await store.migrate();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('poll() called while a poll is in flight still sees a change committed before the call', async () => {
    const feed = new ChangeFeed(store, 60_000);
    await feed.start();
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    feed.on(async (events) => {
      seen.push(...events.map((e) => e.ref));
      if (first) {
        first = false;
        await gate; // the first poll is still "in flight" while B commits
      }
    });
    await store.recordChange('client', 'A');
    const p1 = feed.poll();
    while (seen.length === 0) await new Promise((r) => setImmediate(r));
    await store.recordChange('client', 'B');
    const p2 = feed.poll();
    const p3 = feed.poll(); // callers during the same in-flight poll share one follow-up
    assert.equal(p2, p3);
    release();
    await Promise.all([p1, p2]);
    assert.deepEqual(seen, ['A', 'B']);
    feed.stop();
  });

  it('a handler that throws gets the same events again on the next poll', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    let fail = true;
    const f2 = new ChangeFeed(store, 60_000, (e) => errors.push(e));
    await f2.start();
    f2.on((events) => {
      if (fail) {
        fail = false;
        throw new Error('not now');
      }
      seen.push(...events.map((e) => e.ref));
    });
    await store.recordChange('client', 'C');
    await f2.poll();
    assert.equal(errors.length, 1);
    assert.deepEqual(seen, []);
    await f2.poll();
    assert.deepEqual(seen, ['C']);
    f2.stop();
  });

  it('syncedAt: the start of the last poll applied in full — not advanced by a failed handler or a full page', async () => {
    const feed = new ChangeFeed(store, 60_000);
    assert.equal(feed.syncedAt, 0, 'never synced before start');
    const t0 = Date.now();
    await feed.start();
    assert.ok(feed.syncedAt >= t0);
    let fail = true;
    feed.on(() => {
      if (fail) throw new Error('not now');
    });
    await new Promise((r) => setTimeout(r, 5));
    await store.recordChange('opaque_revocation', 'h1');
    const before = feed.syncedAt;
    await feed.poll();
    assert.equal(feed.syncedAt, before, 'the handler failed: the change is not applied');
    fail = false;
    const t1 = Date.now();
    await feed.poll();
    assert.ok(feed.syncedAt >= t1, 'applied');
    // More than one page waiting: the first poll reads 1000 and is not a full sync; the next one is.
    for (let i = 0; i < 1200; i++) await store.recordChange('opaque_revocation', `bulk-${i}`);
    const synced = feed.syncedAt;
    await feed.poll();
    assert.equal(feed.syncedAt, synced);
    const t2 = Date.now();
    await feed.poll();
    assert.ok(feed.syncedAt >= t2);
    feed.stop();
  });
});
