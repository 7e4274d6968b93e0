import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runCli } from '../helpers/cli.js';

/** Issue #17 item 5: `latchkey completion bash|zsh|fish`, generated from commander's tree, is valid for its shell. */

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

describe('latchkey completion', () => {
  it('bash: syntactically valid (bash -n) and completes commands, subcommands and options', { timeout: 120_000 }, async () => {
    const r = await runCli(['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(spawnSync('bash', ['-n'], { input: r.stdout }).status, 0, 'bash -n');
    const complete = (words: string[]) => {
      const script = `${r.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _latchkey; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      return out.stdout.trim().split('\n');
    };
    assert.deepEqual(complete(['latchkey', 'cl']), ['clients']);
    assert.ok(complete(['latchkey', 'clients', '']).includes('import'));
    assert.ok(complete(['latchkey', 'clients', 'create', '--tok']).includes('--token-ttl'));
    assert.ok(complete(['latchkey', 'admin', '']).includes('reset'));
    assert.deepEqual(complete(['latchkey', 'keys', 'rotate', '--pre']), ['--prepublish']);
  });

  for (const shell of ['zsh', 'fish'] as const) {
    it(`${shell}: syntactically valid (${shell} -n)`, { timeout: 120_000 }, async (t) => {
      const r = await runCli(['completion', shell]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /latchkey/);
      if (!has(shell)) {
        process.stderr.write(`\n*** ${shell} is not installed: the ${shell} completion syntax check is SKIPPED ***\n\n`);
        return t.skip(`${shell} not installed`);
      }
      const check = spawnSync(shell, ['-n'], { input: r.stdout, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
    });
  }
});
