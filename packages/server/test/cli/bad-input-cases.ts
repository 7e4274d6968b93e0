import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/harness.js';
import { CLI } from '../helpers/cli.js';

/**
 * Shared by the bad-input tests (issue #17 item 5): every command with bad values → a non-zero exit
 * and ONE line naming the option, setting, path or host; never a stack trace or SQL. Option values the
 * operator typed wrong → exit 2. Split over several files so each stays within the runner's bound on
 * a busy machine.
 */

export const INTERNALS = [/\n\s+at /, /^\s+at /m, /SQLITE_/, /constraint failed/i, /\bSELECT\b/, /\bINSERT\b/, /syntax error at or near/i, /datatype mismatch/i, /node:internal/, /\.ts:\d+/, /\.js:\d+:\d+/];
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

/** runCli with a bound: a command that hangs is a failure, not a stuck suite. */
export function runCli(args: string[], env: Record<string, string> = {}, ms = 90_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      stderr += `\n[killed after ${ms} ms: ${args.join(' ')}]`;
    }, ms);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export const KEK = randomBytes(32).toString('base64url');
export const env = { LATCHKEY_KEK: KEK, LATCHKEY_LOG_LEVEL: 'silent' };
/** Per test file: a temp root, a store with one client (seed-client), a closed port. */
export const ctx = { root: '', good: '', closedPort: 0 };

export function setUp(): void {
  before(async () => {
    ctx.root = mkdtempSync(join(tmpdir(), 'latchkey-badinput-'));
    ctx.good = join(ctx.root, 'good');
    ctx.closedPort = await freePort();
    const r = await runCli(['clients', 'create', '--name', 'seed', '--client-id', 'seed-client', '--data-dir', ctx.good], env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rmSync(ctx.root, { recursive: true, force: true }));
}

export interface Case {
  args: () => string[];
  /** Exact exit code, or 'nonzero'. */
  code: number | 'nonzero';
  /** What the one line must name. */
  names?: RegExp;
  env?: Record<string, string>;
}

const store = () => ['--data-dir', ctx.good];
const pem = () => {
  const p = join(ctx.root, 'key.pem');
  if (!existsSync(p)) writeFileSync(p, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
  return p;
};
const notJson = () => {
  const p = join(ctx.root, 'not.json');
  writeFileSync(p, 'client_id: x\n');
  return p;
};
const aDirectory = () => {
  const d = join(ctx.root, 'a-directory');
  mkdirSync(d, { recursive: true });
  return d;
};

export const OPTION_CASES: Record<string, Case> = {
  'clients create --token-ttl abc': { args: () => ['clients', 'create', '--name', 'x', '--token-ttl', 'abc', ...store()], code: 2, names: /--token-ttl/ },
  'clients create --token-ttl 999999999': { args: () => ['clients', 'create', '--name', 'x', '--token-ttl', '999999999', ...store()], code: 2, names: /--token-ttl/ },
  'clients create --client-id=-x': { args: () => ['clients', 'create', '--name', 'x', '--client-id=-x', ...store()], code: 2, names: /--client-id.*"-"/ },
  'clients create --client-id a/b': { args: () => ['clients', 'create', '--name', 'x', '--client-id', 'a/b', ...store()], code: 2, names: /--client-id/ },
  'clients create --scope with a quote': { args: () => ['clients', 'create', '--name', 'x', '--scope', 'a"b', ...store()], code: 2, names: /--scope/ },
  'clients create --audience not a URL': { args: () => ['clients', 'create', '--name', 'x', '--audience', 'not a url', ...store()], code: 2, names: /--audience/ },
  'clients create --auth-method nope': { args: () => ['clients', 'create', '--name', 'x', '--auth-method', 'nope', ...store()], code: 2, names: /--auth-method/ },
  'clients create --jwks-file PEM': { args: () => ['clients', 'create', '--name', 'x', '--auth-method', 'private_key_jwt', '--jwks-file', pem(), ...store()], code: 2, names: /--jwks-file .*key\.pem: not a JWKS \(looks like PEM/ },
  'clients create --jwks-file missing': { args: () => ['clients', 'create', '--name', 'x', '--jwks-file', join(ctx.root, 'nope.json'), ...store()], code: 2, names: /--jwks-file .*nope\.json.*ENOENT/ },
  'clients create federated half': { args: () => ['clients', 'create', '--name', 'x', '--federated-issuer', 'k8s', ...store()], code: 2, names: /--federated-subject/ },
  'clients list --limit abc': { args: () => ['clients', 'list', '--limit', 'abc', ...store()], code: 2, names: /--limit/ },
  'clients list --offset -1': { args: () => ['clients', 'list', '--offset', '-1', ...store()], code: 2, names: /--offset/ },
  'clients update --token-ttl -3': { args: () => ['clients', 'update', 'seed-client', '--token-ttl', '-3', ...store()], code: 2, names: /--token-ttl/ },
  'clients rotate-secret --grace -1': { args: () => ['clients', 'rotate-secret', 'seed-client', '--grace', '-1', ...store()], code: 2, names: /--grace/ },
  'clients rotate-secret --grace abc': { args: () => ['clients', 'rotate-secret', 'seed-client', '--grace', 'abc', ...store()], code: 2, names: /--grace/ },
  'clients rotate-secret --expires-in 0': { args: () => ['clients', 'rotate-secret', 'seed-client', '--expires-in', '0', ...store()], code: 2, names: /--expires-in/ },
  'clients import --format bogus': { args: () => ['clients', 'import', fixture('hydra-clients.json'), '--format', 'bogus', ...store()], code: 2, names: /--format/ },
  'keys rotate --prepublish abc': { args: () => ['keys', 'rotate', '--prepublish', 'abc', ...store()], code: 2, names: /--prepublish/ },
  'keys rotate --prepublish -5': { args: () => ['keys', 'rotate', '--prepublish', '-5', ...store()], code: 2, names: /--prepublish/ },
  'keys rotate --alg HS256': { args: () => ['keys', 'rotate', '--alg', 'HS256', ...store()], code: 2, names: /--alg/ },
  'audit --limit abc': { args: () => ['audit', '--limit', 'abc', ...store()], code: 2, names: /--limit/ },
  'audit --limit 0': { args: () => ['audit', '--limit', '0', ...store()], code: 2, names: /--limit/ },
  'audit --since yesterday': { args: () => ['audit', '--since', 'yesterday', ...store()], code: 2, names: /--since/ },
  'registration-tokens create --ttl 5': { args: () => ['registration-tokens', 'create', '--ttl', '5', '--scope', 'a', '--audience', 'https://api.example', ...store()], code: 2, names: /--ttl/ },
  'registration-tokens create --ttl abc': { args: () => ['registration-tokens', 'create', '--ttl', 'abc', '--scope', 'a', '--audience', 'https://api.example', ...store()], code: 2, names: /--ttl/ },
  'completion tcsh': { args: () => ['completion', 'tcsh'], code: 2, names: /bash, zsh or fish/ },
  'unknown option': { args: () => ['clients', 'list', '--bogus'], code: 2, names: /--bogus/ },
};
export const ENVIRONMENT_CASES: Record<string, Case> = {
  'clients create duplicate id': { args: () => ['clients', 'create', '--name', 'x', '--client-id', 'seed-client', ...store()], code: 2, names: /client_id: already exists/ },
  'clients show unknown': { args: () => ['clients', 'show', 'nosuch', ...store()], code: 1, names: /nosuch/ },
  'clients update unknown': { args: () => ['clients', 'update', 'nosuch', '--name', 'y', ...store()], code: 1, names: /no such client/ },
  'clients delete unknown': { args: () => ['clients', 'delete', 'nosuch', ...store()], code: 1, names: /no such client/ },
  'clients import missing file': { args: () => ['clients', 'import', join(ctx.root, 'missing.json'), ...store()], code: 2, names: /missing\.json.*ENOENT/ },
  'clients import not JSON': { args: () => ['clients', 'import', notJson(), ...store()], code: 2, names: /not\.json: not JSON/ },
  'clients --server ftp URL': { args: () => ['clients', 'list', '--server', 'ftp://example.org', '--admin-token', 't'], code: 2, names: /--server ftp:\/\/example\.org/ },
  'clients --server unreachable': { args: () => ['clients', 'list', '--server', `http://127.0.0.1:${ctx.closedPort}`, '--admin-token', 't'], code: 'nonzero', names: /--server http:\/\/127\.0\.0\.1:\d+: connection refused/ },
  'clients --server without credentials': { args: () => ['clients', 'list', '--server', `http://127.0.0.1:${ctx.closedPort}`], code: 'nonzero', names: /--admin-token|--admin-client-id|--server/ },
  'registration-tokens delete unknown': { args: () => ['registration-tokens', 'delete', 'nosuch', ...store()], code: 'nonzero' },
  'trust add --max-assertion-lifetime abc': { args: () => ['trust', 'add', 'k8s', '--issuer', 'https://k8s.example', '--max-assertion-lifetime', 'abc', ...store()], code: 'nonzero', names: /--max-assertion-lifetime/ },
  'trust show unknown': { args: () => ['trust', 'show', 'nosuch', ...store()], code: 'nonzero', names: /nosuch/ },
  // TrustedIssuerService's not-found message does not name the issuer (H7's area): one line, no internals.
  'trust remove unknown': { args: () => ['trust', 'remove', 'nosuch', ...store()], code: 'nonzero', names: /trusted issuer/ },
  'admin reset unknown': { args: () => ['admin', 'reset', '--client-id', 'nosuch', ...store()], code: 1, names: /nosuch/ },
  'admin reset a non-admin': { args: () => ['admin', 'reset', '--client-id', 'seed-client', ...store()], code: 2, names: /not an admin client/ },
  'start --port abc': { args: () => ['start', '--port', 'abc', '--data-dir', join(ctx.root, 'start-port')], code: 2, names: /port/ },
  'start --workers 0': { args: () => ['start', '--workers', '0', '--data-dir', join(ctx.root, 'start-workers')], code: 2, names: /workers/ },
  'start --redis http://x': { args: () => ['start', '--redis', 'http://x', '--data-dir', join(ctx.root, 'start-redis')], code: 2, names: /redis/ },
  'start --tls-cert missing': { args: () => ['start', '--tls-cert', join(ctx.root, 'no.crt'), '--tls-key', join(ctx.root, 'no.key'), '--data-dir', join(ctx.root, 'start-tls')], code: 2, names: /no\.crt|no\.key|tls/i },
  'start --host 0.0.0.0 without issuer': { args: () => ['start', '--host', '0.0.0.0', '--data-dir', join(ctx.root, 'start-host')], code: 2, names: /issuer/ },
  'token --issuer not a URL': { args: () => ['token', '--issuer', 'not-a-url', '--client-id', 'a', '--client-secret', 'b'], code: 'nonzero' },
  'token unreachable': { args: () => ['token', '--issuer', `http://127.0.0.1:${ctx.closedPort}`, '--client-id', 'a', '--client-secret', 'b'], code: 'nonzero', names: /127\.0\.0\.1:\d+/ },
  'unknown command': { args: () => ['frobnicate'], code: 2, names: /frobnicate/ },
  '--db mysql://': { args: () => ['clients', 'create', '--name', 'x', '--db', 'mysql://x'], code: 2, names: /"db"/ },
  '--config missing': { args: () => ['clients', 'create', '--name', 'x', '--config', join(ctx.root, 'nope.json'), ...store()], code: 2, names: /nope\.json/ },
  'sqlite path is a directory': { args: () => ['clients', 'create', '--name', 'x', '--db', `sqlite:${aDirectory()}`, '--data-dir', join(ctx.root, 'dd')], code: 1, names: /a-directory/ },
  'sqlite path under a file': { args: () => ['clients', 'create', '--name', 'x', '--db', `sqlite:${join(notJson(), 'x.db')}`, '--data-dir', join(ctx.root, 'dd2')], code: 1, names: /not\.json\/x\.db/ },
  'postgres refused': { args: () => ['clients', 'create', '--name', 'x', '--db', 'postgres://postgres@127.0.0.1:1/x', '--data-dir', join(ctx.root, 'pg1')], code: 1, names: /127\.0\.0\.1:1.*(refused|ECONNREFUSED)/ },
};

/** Runs the cases (three at a time) and fails with every problem listed. */
export async function checkCases(cases: Record<string, Case>): Promise<void> {
  const entries = Object.entries(cases);
  const results: [string, Case, Awaited<ReturnType<typeof runCli>>][] = [];
  for (let i = 0; i < entries.length; i += 3) {
    results.push(...(await Promise.all(entries.slice(i, i + 3).map(async ([name, c]) => [name, c, await runCli(c.args(), { ...env, ...(c.env ?? {}) })] as [string, Case, Awaited<ReturnType<typeof runCli>>]))));
  }
  const problems: string[] = [];
  for (const [name, c, r] of results) {
    const out = r.stdout + r.stderr;
    const why: string[] = [];
    if (c.code === 'nonzero' ? r.code === 0 : r.code !== c.code) why.push(`exit ${r.code}, expected ${c.code}`);
    for (const p of INTERNALS) if (p.test(out)) why.push(`shows internals (${p})`);
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    if (lines.length !== 1) why.push(`${lines.length} lines on stderr`);
    if (c.names && !c.names.test(r.stderr)) why.push(`does not name ${c.names}`);
    if (why.length) problems.push(`${name}: ${why.join('; ')}\n    ${out.trim().replace(/\n/g, '\n    ')}`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
}
