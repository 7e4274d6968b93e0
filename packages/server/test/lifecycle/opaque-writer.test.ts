/** Group commit of opaque tokens (tokens/opaque.ts) on a real SQLite store. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import type { OpaqueTokenRecord } from '../../src/store/types.js';
import { OpaqueWriter } from '../../src/tokens/opaque.js';

const rec = (i: number): OpaqueTokenRecord => ({
  token_hash: `hash-${i}`,
  jti: `jti-${i}`,
  client_id: 'c',
  scope: 's',
  aud: ['a'],
  iat: 1,
  exp: 4_000_000_000,
  cnf: null,
  token_type: 'Bearer',
});

describe('OpaqueWriter group commit', () => {
  let dir: string;
  let store: Store;
  let statements: number[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lk-opaque-'));
    store = openStore(`sqlite:${join(dir, 's.db')}`);
    await store.migrate();
    // Count the INSERT statements the writer issues (the store itself is real).
    const insert = store.insertOpaqueTokens.bind(store);
    statements = [];
    store.insertOpaqueTokens = (t) => {
      statements.push(t.length);
      return insert(t);
    };
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent writes from one turn of the event loop share one INSERT; each resolves after its row is stored', async () => {
    const w = new OpaqueWriter(store);
    statements.length = 0;
    await Promise.all(Array.from({ length: 300 }, (_, i) => w.write(rec(i))));
    assert.deepEqual(statements, [300]);
    for (const i of [0, 150, 299]) assert.ok(await store.getOpaqueToken(`hash-${i}`));
  });

  it('writes arriving while a batch is written form the next batch; maxBatch bounds a batch', async () => {
    const w = new OpaqueWriter(store, 100);
    statements.length = 0;
    const first = Array.from({ length: 250 }, (_, i) => w.write(rec(1000 + i)));
    // Arrive after the first flush has been scheduled (next macrotask).
    await new Promise((r) => setImmediate(r));
    const late = Array.from({ length: 10 }, (_, i) => w.write(rec(2000 + i)));
    await Promise.all([...first, ...late]);
    assert.equal(statements.reduce((a, b) => a + b, 0), 260);
    assert.ok(statements.every((n) => n <= 100));
    assert.ok(statements.length <= 4, `batches: ${statements.join(',')}`);
  });

  it('a failed batch rejects exactly its writers; the writer keeps working', async () => {
    const w = new OpaqueWriter(store);
    const dup = w.write(rec(0)); // hash-0 exists: the whole batch fails (primary key)
    const sameBatch = w.write(rec(3000));
    await assert.rejects(dup);
    await assert.rejects(sameBatch);
    await w.write(rec(3001));
    assert.ok(await store.getOpaqueToken('hash-3001'));
    assert.equal(await store.getOpaqueToken('hash-3000'), undefined, 'nothing of a failed batch is stored');
  });
});
