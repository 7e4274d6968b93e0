/**
 * `latchkey start` checks what it can before it opens the store or forks workers (issue #17 item 3): a busy
 * port or a bad TLS file ends within seconds with ONE line naming the setting (and port or path), a
 * non-zero exit, no stack trace, and nothing written to the data directory — with the default worker count
 * (one per CPU), which used to crash-loop forever. The banner shows the listen address and the issuer apart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import { freePort } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-safe-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without the test run's LATCHKEY_* variables (so the CLI's own defaults apply). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LATCHKEY_')) env[k] = v;
  return env;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}
/** Runs `latchkey start ARGS`; SIGKILLs it after `killAfterMs` (a crash loop never ends by itself). */
function start(args: string[], killAfterMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [CLI, 'start', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const NO_STACK = /\n\s+at |node:internal|Error: /;

function assertOneLine(r: Run, pattern: RegExp, code: number): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr + r.stdout, NO_STACK, 'no stack trace');
  assert.equal(r.stdout, '', 'nothing on stdout (no admin client was created)');
}

describe('latchkey start: safe start', () => {
  let busy: Server;
  let busyPort: number;
  before(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => busy.close(() => r())));

  /**
   * How long loading the CLI takes right now (`latchkey --version` loads the same modules): on a machine
   * shared by many test processes that alone can take seconds, and it is not what the 10 s bound is about.
   */
  async function cliLoadMs(): Promise<number> {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, '--version'], { env: cleanEnv(), stdio: 'ignore' });
    assert.equal(r.status, 0);
    return Date.now() - t0;
  }

  it('busy port with the default workers (one per CPU): one line naming the port, exit 1 within 10 s, no store written', async () => {
    const dataDir = join(dir, 'busy');
    const load = await cliLoadMs();
    const r = await start(['--port', String(busyPort), '--data-dir', dataDir]);
    assertOneLine(r, new RegExp(`^latchkey: cannot listen on 127\\.0\\.0\\.1:${busyPort}: port ${busyPort} is already in use .*"port" \\(LATCHKEY_PORT / --port\\)`), 1);
    // A crash loop never exits (start() kills it after 60 s); a refusal exits as soon as the CLI has loaded.
    assert.ok(r.ms < 10_000 || r.ms - load < 10_000, `exited after ${r.ms} ms (loading the CLI alone took ${load} ms)`);
    assert.equal(existsSync(dataDir), false, 'no data directory, store or KEK was created');
  });

  it('busy port with --workers 1 and --workers 3: the same line', async () => {
    for (const w of ['1', '3']) {
      const load = await cliLoadMs();
      const r = await start(['--port', String(busyPort), '--data-dir', join(dir, `busy-${w}`), '--workers', w]);
      assertOneLine(r, new RegExp(`port ${busyPort} is already in use`), 1);
      assert.ok(r.ms < 10_000 || r.ms - load < 10_000, `--workers ${w}: exited after ${r.ms} ms (loading the CLI alone took ${load} ms)`);
    }
  });

  describe('bad TLS files: one line naming the setting and the path, exit 2', () => {
    let cert: string;
    let key: string;
    const garbage = join(dir, 'garbage.pem');
    const otherKey = join(dir, 'other.key');
    before(() => {
      cert = join(dir, 'server.crt');
      key = join(dir, 'server.key');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
      writeFileSync(garbage, 'this is not PEM\n');
      writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    });
    const cases: [string, () => string[], RegExp][] = [
      ['certificate file missing', () => ['--tls-cert', join(dir, 'nope.crt'), '--tls-key', key], /invalid setting "tlsCert" \(LATCHKEY_TLS_CERT \/ --tls-cert\): cannot read \S+nope\.crt: no such file$/],
      ['certificate file is not PEM', () => ['--tls-cert', garbage, '--tls-key', key], /invalid setting "tlsCert" \(LATCHKEY_TLS_CERT \/ --tls-cert\): \S+garbage\.pem holds no PEM certificate/],
      ['key file is not a key', () => ['--tls-cert', cert, '--tls-key', garbage], /invalid setting "tlsKey" \(LATCHKEY_TLS_KEY \/ --tls-key\): \S+garbage\.pem is not a PEM private key/],
      ['key of another certificate', () => ['--tls-cert', cert, '--tls-key', otherKey], /invalid setting "tlsKey" \(LATCHKEY_TLS_KEY \/ --tls-key\): the key in \S+other\.key does not belong to the certificate in \S+server\.crt$/],
      ['CA file is not PEM', () => ['--tls-cert', cert, '--tls-key', key, '--tls-ca', garbage], /invalid setting "tlsCa" \(LATCHKEY_TLS_CA \/ --tls-ca\): \S+garbage\.pem holds no PEM certificate/],
    ];
    for (const [name, args, pattern] of cases) {
      it(name, async () => {
        const dataDir = join(dir, `tls-${name.replace(/\W+/g, '-')}`);
        const r = await start([...args(), '--port', String(await freePort()), '--data-dir', dataDir]);
        assertOneLine(r, new RegExp(`^latchkey: ${pattern.source}`), 2);
        assert.equal(existsSync(dataDir), false, 'nothing written');
      });
    }
  });

  it('--port 0 with more than one worker is refused naming port and workers', async () => {
    const r = await start(['--port', '0', '--issuer', 'http://127.0.0.1:9', '--workers', '2', '--data-dir', join(dir, 'p0')]);
    assertOneLine(r, /^latchkey: invalid setting "port" \(LATCHKEY_PORT \/ --port\): 0 \(any free port\) needs "workers" \(LATCHKEY_WORKERS \/ --workers\) 1$/, 2);
  });

  it('two workers: the banner shows the listen address and the issuer separately; SIGTERM exits 0', async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}`;
    const p = spawn(process.execPath, [CLI, 'start', '--port', String(port), '--issuer', issuer, '--workers', '2', '--log-level', 'warn', '--data-dir', join(dir, 'two')], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    try {
      const t0 = Date.now();
      while (!/Latchkey listening on/.test(out)) {
        if (p.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`server did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(out, new RegExp(`Latchkey listening on http://127\\.0\\.0\\.1:${port} with 2 workers \\(issuer ${issuer.replace(/\./g, '\\.')}, store sqlite\\)`));
      const m = (await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
      assert.equal(m.issuer, issuer);
    } finally {
      if (p.exitCode === null) p.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  });
});
