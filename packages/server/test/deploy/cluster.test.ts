/**
 * cluster.ts (the `latchkey start --workers N` primary) with fixture workers: a worker that dies before it
 * listens stops the whole server at once with the cause (no replacement, no crash loop); a worker that dies
 * later is replaced a few times with growing delays, then the server stops with exit 1; SIGTERM stops it
 * with exit 0.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { restartDelay } from '../../src/cluster.js';

const PRIMARY = fileURLToPath(new URL('./fixtures/primary.ts', import.meta.url));

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  end?: { code: number; message?: string; forks: number[] };
}

function runPrimary(mode: string, workers: number, opts: { sigtermOn?: RegExp; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, ['--import', 'tsx', PRIMARY, mode, String(workers)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    // Generous: each fixture worker loads tsx, which takes seconds on a busy machine.
    const kill = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 150_000);
    p.stdout.on('data', (d) => {
      stdout += d;
      if (opts.sigtermOn && !signalled && opts.sigtermOn.test(stdout)) {
        signalled = true;
        p.kill('SIGTERM');
      }
    });
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (status) => {
      clearTimeout(kill);
      const last = stdout.trim().split('\n').pop() ?? '';
      let end: Result['end'];
      try {
        end = JSON.parse(last) as Result['end'];
      } catch {
        end = undefined;
      }
      resolve({ status, stdout, stderr, ms: Date.now() - t0, end });
    });
  });
}

describe('cluster primary', () => {
  it('restart delays grow: 0 s, 1 s, 2 s, 4 s … capped at 30 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(restartDelay), [0, 1000, 2000, 4000, 8000]);
    assert.equal(restartDelay(20), 30_000);
  });

  it('a worker failing during start-up stops the server with its cause and exit code, without replacing it', async () => {
    const r = await runPrimary('report-failure', 2);
    assert.ok(r.end, `primary ended with its summary line: ${r.stdout} ${r.stderr}`);
    assert.equal(r.status, 1);
    assert.equal(r.end.code, 1);
    assert.equal(r.end.message, 'cannot open store postgres://db.internal:5432/latchkey: connection refused');
    assert.equal(r.end.forks.length, 2, 'no replacement was forked');
    assert.doesNotMatch(r.stdout, /LISTENING/);
  });

  it('a worker dying silently during start-up stops the server too, naming the exit code', async () => {
    const r = await runPrimary('die-silently', 2);
    assert.equal(r.status, 1);
    assert.equal(r.end?.forks.length, 2);
    assert.match(r.end?.message ?? '', /a worker failed during start-up \(exit code 3\)/);
  });

  it('later crashes: replaced with growing delays, at most maxRestarts (3) times, then exit 1', async () => {
    const r = await runPrimary('crash-later', 1);
    assert.match(r.stdout, /LISTENING/, 'the server was up first');
    assert.equal(r.status, 1);
    assert.ok(r.end);
    assert.match(r.end.message ?? '', /workers died 4 times within 60 s/);
    const f = r.end.forks;
    assert.equal(f.length, 4, `one worker + 3 replacements: ${JSON.stringify(f)}`);
    // Replacement k waits restartDelay(k) after the crash; each worker lives ~200 ms before crashing.
    assert.ok(f[2]! - f[1]! >= 1000, `second replacement waited ≥ 1 s: ${JSON.stringify(f)}`);
    assert.ok(f[3]! - f[2]! >= 2000, `third replacement waited ≥ 2 s: ${JSON.stringify(f)}`);
  });

  it('SIGTERM once listening: workers stop, exit 0', async () => {
    const r = await runPrimary('ok', 2, { sigtermOn: /LISTENING/ });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.end?.code, 0);
    assert.equal(r.end?.forks.length, 2);
  });
});
