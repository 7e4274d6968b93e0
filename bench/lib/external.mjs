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
  const changed = [...after.keys()].filter((f) => !ownResultFiles.has(f) && after.get(f) !== before.get(f) && after.get(f) >= started - 1000);
  // Prefer the files named after the script (others may write results at the same time).
  const named = changed.filter((f) => f.startsWith(script.name));
  const files = named.length ? named : changed;
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
    rows: results.flatMap((r) => (EXTRACTORS[script.name] ? safe(() => EXTRACTORS[script.name](r.data)) : null) ?? extractRows(r.data)),
    targets: results.flatMap((r) => (script.name === 'resource-verify' ? resourceTargets(r.data) : [])),
  };
}

function safe(fn) {
  try {
    const rows = fn();
    return Array.isArray(rows) && rows.length ? rows : null;
  } catch {
    return null;
  }
}

/** Known shapes of the standalone scripts' result files (fallback: extractRows). */
const EXTRACTORS = {
  'resource-verify': (d) => d.results.map((r) => ({ name: `${r.alg} ${r.scenario}`, metric: 'verifications per CPU-second', value: r.medianPerCpuSecond, wall: r.median })),
  'resource-http': (d) => d.results.map((r) => ({ name: r.server, metric: 'req/s', value: r.requestsPerSecond, p99: r.latencyP99ms, failures: (r.non2xx ?? 0) + (r.errors ?? 0) })),
  'client-gettoken': (d) => d.results.map((r) => ({ name: r.name, metric: 'ns/op', value: r.ns_per_op })),
  'client-refresh': (d) => d.results.map((r) => ({ name: r.name, metric: 'getToken p99 ms', value: r.p99_ms })),
};

/** Issue 7's @latchkey/resource targets, from resource-verify's own summary. */
function resourceTargets(d) {
  const out = [];
  for (const [alg, s] of Object.entries(d.summary ?? {})) {
    if (!Number.isFinite(s.cached_per_s)) continue;
    out.push({ target: `resource ${alg} cached ≥ 1,000,000/s`, value: s.cached_per_s, threshold: 1_000_000, pass: s.cached_per_s >= 1_000_000, unit: '/s' });
    out.push({ target: `resource ${alg} uncached ≥ 1.5× jose.jwtVerify`, value: s.uncached_vs_jose, threshold: 1.5, pass: s.uncached_vs_jose >= 1.5 });
  }
  return out;
}

/** Scripts that drive their own servers with autocannon need both cores; the rest are in-process. */
export function wantsAllCores(script) {
  try {
    return /autocannon/.test(readFileSync(script.file, 'utf8'));
  } catch {
    return false;
  }
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
