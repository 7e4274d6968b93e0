// Unit tests for the harness's pure helpers (no servers, no timing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractRows } from '../lib/external.mjs';
import { summarizeProfile } from '../lib/profile.mjs';
import { evaluateTargets, summarize } from '../lib/report.mjs';

test('extractRows finds named rate records anywhere in a result document', () => {
  const rows = extractRows({ machine: { cores: 2 }, results: [{ name: 'cached', opsPerSec: 1_200_000 }, { name: 'jose', opsPerSec: 9000, p99: 1 }], other: { label: 'x', note: 'y' } });
  assert.deepEqual(rows, [
    { name: 'cached', metric: 'opsPerSec', value: 1_200_000 },
    { name: 'jose', metric: 'opsPerSec', value: 9000, p99: 1 },
  ]);
});

test('summarizeProfile keeps samples inside the window and splits self time per package', () => {
  const profile = {
    startTime: 1000,
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'signOneShot', url: 'node:internal/crypto/sig', lineNumber: 142 } },
      { id: 3, callFrame: { functionName: 'handleRequest', url: 'file:///r/node_modules/fastify/lib/handle-request.js', lineNumber: 23 } },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    ],
    samples: [3, 2, 2, 3, 4, 2],
    timeDeltas: [0, 100, 100, 100, 100, 100],
  };
  const s = summarizeProfile(profile, { start: 1050, end: 1350 }, 10, '/r');
  assert.equal(s.windowed, true);
  const cats = Object.fromEntries(s.byCategory.map((r: { name: string; usPerRequest: number }) => [r.name, r.usPerRequest]));
  assert.deepEqual(cats, { 'node:crypto/sig': 20, fastify: 10 });
  assert.equal(s.busyUsPerRequest, 30);
});

test('targets are ratios of valid medians; missing scenarios are not measured', () => {
  const mk = (name: string, rps: number) => summarize(name, { what: name }, [{ rps, latency: { p99: 5 }, valid: true, problems: [] }]);
  const t = evaluateTargets([mk('ceiling', 40_000), mk('latchkey', 20_000), mk('oidc-provider', 2_500)]);
  const by = Object.fromEntries(t.map((x: { target: string; value?: number; pass?: boolean | null }) => [x.target, x]));
  assert.equal(by['JWT ES256 + basic ≥ 3× oidc-provider']?.value, 8);
  assert.equal(by['JWT ES256 + basic ≥ 3× oidc-provider']?.pass, true);
  assert.equal(by['JWT ES256 + basic ≥ 0.20× ceiling']?.value, 0.5);
  assert.equal(by['private_key_jwt ≥ 3× oidc-provider']?.pass, null);
});
