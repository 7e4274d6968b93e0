/**
 * The settings table against the real `latchkey` CLI: the flags the table documents exist with the same
 * environment variables, the config file beats the CLI's own defaults ("workers": 1 in a file used to be
 * ignored), and the issuer trap (non-loopback host or port 0 without an issuer) is refused with exit 2.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settings } from '../../src/config.js';
import { startCommand } from '../../src/cli/commands/start.js';
import { CLI, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The environment of a child CLI without any LATCHKEY_* variable of the test run. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LATCHKEY_')) env[k] = v;
  return { ...env, ...extra };
}

describe('latchkey start and the settings table', () => {
  it('every flag in the table is a `latchkey start` option bound to the same variable, and vice versa', () => {
    const options = startCommand().options;
    const byFlag = new Map(options.map((o) => [o.long, o]));
    for (const [name, s] of Object.entries(settings)) {
      if (!s.flag) continue;
      const o = byFlag.get(s.flag);
      assert.ok(o, `${name}: ${s.flag} is not an option of latchkey start`);
      assert.equal(o.envVar, s.env, `${name}: ${s.flag} reads ${o.envVar ?? 'no variable'}`);
    }
    const tableFlags = new Set<string>(Object.values(settings).flatMap((s) => (s.flag ? [s.flag] : [])));
    const notSettings = new Set(['--config', '--json']);
    for (const o of options) {
      if (o.long && !notSettings.has(o.long)) assert.ok(tableFlags.has(o.long), `${o.long} is missing from the settings table`);
    }
  });

  it('"workers": 1 in the config file wins over the CPU-count default (one process, no cluster)', async () => {
    const port = await freePort();
    const file = join(dir, 'one-worker.json');
    writeFileSync(file, JSON.stringify({ workers: 1, port, dataDir: join(dir, 'data'), logLevel: 'warn' }));
    const p = spawn(process.execPath, [CLI, 'start', '--config', file], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    try {
      const t0 = Date.now();
      while (!/Latchkey (listening on|starting \d+ workers)/.test(out)) {
        if (p.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`server did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(out, /Latchkey listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.doesNotMatch(out, /starting \d+ workers/);
      const res = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { issuer: string }).issuer, `http://127.0.0.1:${port}`);
    } finally {
      const exited = new Promise((r) => p.once('exit', r));
      if (p.exitCode === null) p.kill('SIGTERM');
      await exited;
    }
  });

  it('a non-loopback --host without an issuer is refused naming the issuer setting (exit 2, no stack)', async () => {
    const r = await runCli(['start', '--host', '0.0.0.0', '--data-dir', join(dir, 'trap')], cleanEnv());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^latchkey: invalid setting "issuer" \(LATCHKEY_ISSUER \/ --issuer\): required because host 0\.0\.0\.0 is not a loopback address/);
    assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
  });

  it('--port 0 without an issuer is refused the same way; with LATCHKEY_HOST from the environment too', async () => {
    const r = await runCli(['start', '--port', '0', '--data-dir', join(dir, 'trap')], cleanEnv());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid setting "issuer" \(LATCHKEY_ISSUER \/ --issuer\): required with port 0/);
    const e = await runCli(['start', '--data-dir', join(dir, 'trap')], cleanEnv({ LATCHKEY_HOST: '10.1.2.3' }));
    assert.equal(e.code, 2);
    assert.match(e.stderr, /"issuer".*host 10\.1\.2\.3/);
  });
});
