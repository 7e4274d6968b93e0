// Smoke test for the benchmark harness: a very short run of a few scenarios
// must complete, produce a result file, and report every run as valid.
// No throughput thresholds here — only that the harness works end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm run bench --quick (ceiling, peers, latchkey) produces valid results', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const out = join(dir, 'result.json');
  try {
    const r = spawnSync(process.execPath, [
      join(root, 'bench/run.mjs'), '--quick', '--duration', '1', '--warmup', '0.5', '--no-external',
      '--only', 'ceiling,latchkey,oidc-provider,node-oauth2-server,latchkey-private_key_jwt', '--out', out,
    ], { cwd: root, encoding: 'utf8', timeout: 150_000 });
    assert.equal(r.status, 0, `bench exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\| scenario +\| req\/s/);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(typeof result.machine.cpuModel, 'string');
    assert.equal(result.machine.node, process.version);
    const names = result.scenarios.map((s: { name: string }) => s.name);
    assert.deepEqual(names, ['ceiling', 'latchkey', 'latchkey-private_key_jwt', 'oidc-provider', 'node-oauth2-server']);
    for (const s of result.scenarios) {
      if (s.unsupported) continue; // a feature the server does not have yet
      assert.equal(s.error, undefined, `${s.name}: ${s.error}`);
      assert.equal(s.valid, true, `${s.name}: ${s.problems.join('; ')}`);
      assert.ok(s.median > 0, `${s.name}: no throughput`);
    }
    assert.ok(Array.isArray(result.targets));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
