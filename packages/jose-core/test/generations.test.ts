import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TwoGenerationMap } from '../src/index.js';

describe('TwoGenerationMap', () => {
  it('holds at most 2 × generationSize; an entry touched at least once per generationSize insertions stays', () => {
    const m = new TwoGenerationMap<string, number>(100);
    m.set('hot', 0);
    for (let i = 0; i < 10_000; i++) {
      m.set(`k${i}`, i);
      if (i % 50 === 0) assert.equal(m.touch('hot'), 0, `hot lost at ${i}`);
      assert.ok(m.size <= 200);
    }
    assert.equal(m.get('k9999'), 9999);
    assert.equal(m.get('k0'), undefined, 'an unused old entry is dropped');
    assert.throws(() => new TwoGenerationMap(0), RangeError);
  });

  it('agrees with a model: get/touch/set/delete over random operations', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), v: fc.integer() }),
      fc.record({ k: fc.constantFrom('get' as const, 'touch' as const, 'delete' as const), key: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 200 }), (gen, ops) => {
        const m = new TwoGenerationMap<number, number>(gen);
        // Model: two plain Maps with the documented rules.
        let young = new Map<number, number>();
        let old = new Map<number, number>();
        const put = (key: number, v: number) => {
          old.delete(key);
          young.set(key, v);
          if (young.size >= gen) {
            old = young;
            young = new Map();
          }
        };
        for (const o of ops) {
          if (o.k === 'set') {
            m.set(o.key, o.v);
            put(o.key, o.v);
          } else if (o.k === 'get') assert.equal(m.get(o.key), young.get(o.key) ?? old.get(o.key));
          else if (o.k === 'touch') {
            const want = young.get(o.key) ?? old.get(o.key);
            if (!young.has(o.key) && old.has(o.key)) put(o.key, old.get(o.key)!);
            assert.equal(m.touch(o.key), want);
          } else assert.equal(m.delete(o.key), young.delete(o.key) || old.delete(o.key) || false);
          assert.equal(m.size, young.size + old.size);
          assert.ok(m.size <= 2 * gen);
        }
      }),
      { numRuns: 300 },
    );
  });
});
