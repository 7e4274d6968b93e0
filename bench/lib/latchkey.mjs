// Starts Latchkey from its built CLI on a fresh data dir, creates the
// benchmark's clients with `latchkey clients create --json`, and detects which
// features the current build supports (the server is growing while the
// harness runs against it).
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild, waitReady, runSync, pinned, tail } from './proc.mjs';

export function latchkeyMain(root) {
  return join(root, 'packages/server/dist/cli/main.js');
}

export function latchkeyBuilt(root) {
  return existsSync(latchkeyMain(root));
}

let helpCache;
/** `latchkey start --help` text (cached), for feature detection. */
export function startHelp(root) {
  if (helpCache === undefined) {
    const r = runSync([process.execPath, latchkeyMain(root), 'start', '--help'], { timeoutMs: 20_000 });
    helpCache = `${r.stdout}\n${r.stderr}`;
  }
  return helpCache;
}

export function supportsWorkers(root) {
  return /--workers\b/.test(startHelp(root));
}

/**
 * @returns {Promise<{url, issuer, metadata, dataDir, proc, createClient, stop}>}
 */
export async function startLatchkey({ root, port, pin, cpus, workers, nodeArgs = [], env = {}, readyTimeoutMs = 60_000 }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const main = latchkeyMain(root);
  const argv = pinned(cpus, [
    process.execPath, ...nodeArgs, main, 'start',
    '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1',
    '--workers', String(workers ?? 1), // the CLI defaults to one worker per CPU; single-core scenarios need exactly one
  ], pin);
  const proc = startChild(argv, {
    cwd: root,
    env: { LATCHKEY_LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/readyz`, proc, readyTimeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let metadata = {};
  try {
    const r = await fetch(`${url}/.well-known/oauth-authorization-server`);
    if (r.ok) metadata = await r.json();
  } catch { /* metadata is optional for the harness */ }
  const issuer = metadata.issuer ?? url;

  /** Runs `latchkey clients create ... --json`; returns the parsed JSON or throws with the CLI's output. */
  function createClient({ name, scope = 'read write', authMethod, jwks, tokenFormat, ttl }) {
    const args = [main, 'clients', 'create', '--data-dir', dataDir, '--name', name, '--scope', scope, '--json'];
    if (authMethod) args.push('--auth-method', authMethod);
    if (jwks) {
      const f = join(dataDir, `${name}.jwks.json`);
      writeFileSync(f, JSON.stringify(jwks));
      args.push('--jwks-file', f);
    }
    if (tokenFormat) args.push('--token-format', tokenFormat);
    if (ttl) args.push('--token-ttl', String(ttl));
    const r = runSync([process.execPath, ...args], { cwd: root, env: { LATCHKEY_LOG_LEVEL: 'warn' }, timeoutMs: 30_000 });
    const json = extractJson(r.stdout);
    if (r.status !== 0 || !json?.client_id) {
      throw new Error(`clients create failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
    }
    return json;
  }

  return {
    url,
    issuer,
    metadata,
    dataDir,
    proc,
    createClient,
    async stop() {
      const exit = await proc.stop('SIGTERM', 15_000);
      rmSync(dataDir, { recursive: true, force: true });
      return exit;
    },
    tail: () => tail(proc),
  };
}

function extractJson(stdout) {
  const s = stdout.trim();
  try {
    return JSON.parse(s);
  } catch { /* fall through: maybe log lines around the JSON */ }
  const start = s.indexOf('{');
  const end = s.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try { return JSON.parse(s.slice(start, end + 1)); } catch { return undefined; }
  }
  return undefined;
}

/**
 * Polls the token endpoint until the new client is accepted (the server picks
 * up CLI-created clients within ~1 s). `makeRequest` returns fetch init.
 */
export async function waitClientUsable(tokenUrl, makeRequest, timeoutMs = 10_000) {
  // SPEC §4: a CLI change reaches every server process within 1 s. Asking earlier would make
  // failed authentications, and those count toward the per-client failure limit (429s later),
  // and with --workers one process may know the client while another does not yet.
  await sleep(1200);
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(tokenUrl, makeRequest());
      const body = await r.text();
      if (r.status === 200) return JSON.parse(body);
      last = `${r.status} ${body.slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(150);
  }
  throw new Error(`client not usable after ${timeoutMs} ms: ${last}`);
}
