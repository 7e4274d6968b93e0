// Standalone bench scripts written next to the harness (bench/resource-*.mjs,
// bench/client-*.mjs). run.mjs runs each as a child process pinned to the
// server core and folds the JSON they write to bench/results/ into its report.
import { readdirSync, statSync, readFileSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { spawn } from 'node:child_process';
import { pinned } from './proc.mjs';

export function findExternalScripts(benchDir) {
  return readdirSync(benchDir)
    .filter((f) => /^(resource|client)-.*\.mjs$/.test(f))
    .sort()
    .map((f) => ({ name: basename(f, '.mjs'), file: join(benchDir, f) }));
}

function snapshot(dir) {
  const m = new Map();
  if (!existsSync(dir)) return m;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    try { m.set(f, statSync(join(dir, f)).mtimeMs); } catch { /* raced */ }
  }
  return m;
}

export async function runExternal(script, { quick, pin, cpus, resultsDir, timeoutMs, root, ownResultFiles }) {
  const before = snapshot(resultsDir);
  const argv = pinned(cpus, [process.execPath, script.file, ...(quick ? ['--quick'] : [])], pin);
  const started = Date.now();
  const { code, stdout, stderr, timedOut } = await new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (c) => { clearTimeout(t); resolve({ code: c, stdout: out, stderr: err, timedOut }); });
  });
  const after = snapshot(resultsDir);
  const files = [...after.keys()].filter((f) => !ownResultFiles.has(f) && after.get(f) !== before.get(f) && after.get(f) >= started - 1000);
  const results = [];
  for (const f of files) {
    try { results.push({ file: f, data: JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) }); } catch { /* not JSON */ }
  }
  if (results.length === 0) {
    // Some scripts print their JSON instead: take the last parsable JSON object on stdout.
    const lines = stdout.trim().split('\n').reverse();
    for (const l of lines) {
      if (!l.trim().startsWith('{')) continue;
      try { results.push({ file: '(stdout)', data: JSON.parse(l) }); break; } catch { /* keep looking */ }
    }
  }
  return {
    name: script.name,
    exitCode: code,
    timedOut,
    seconds: (Date.now() - started) / 1000,
    stdoutTail: stdout.slice(-4000),
    stderrTail: stderr.slice(-2000),
    results,
    rows: results.flatMap((r) => extractRows(r.data)),
  };
}

const NAME_KEYS = ['name', 'scenario', 'label', 'case', 'title', 'id'];
const RATE_RE = /(ops|per_?sec|persec|\/s|rps|hz|throughput|tokens|verifications)/i;

/** Best-effort: finds {name, <rate>} records anywhere in a result document. */
export function extractRows(data, path = '') {
  const rows = [];
  const visit = (node, p) => {
    if (Array.isArray(node)) { node.forEach((x, i) => visit(x, `${p}[${i}]`)); return; }
    if (!node || typeof node !== 'object') return;
    const nameKey = NAME_KEYS.find((k) => typeof node[k] === 'string');
    const rateKey = Object.keys(node).find((k) => RATE_RE.test(k) && typeof node[k] === 'number');
    if (nameKey && rateKey) {
      rows.push({ name: node[nameKey], metric: rateKey, value: node[rateKey], ...(typeof node.p99 === 'number' ? { p99: node.p99 } : {}) });
    }
    for (const [k, v] of Object.entries(node)) if (v && typeof v === 'object') visit(v, `${p}.${k}`);
  };
  visit(data, path);
  return rows;
}
