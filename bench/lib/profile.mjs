// --profile: runs a scenario with the server under `node --cpu-prof`, keeps
// only the samples taken while the load ran, and says where each request's
// microseconds go (self time per function and per package).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from './load.mjs';
import { setupScenario } from './scenarios.mjs';
import { freePort } from './proc.mjs';
import { markdownTable } from './report.mjs';

const nowMicros = () => Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC, the clock V8's profiler stamps with on Linux

export async function runProfile({ scenarios, env, opts, resultsDir, stamp, machine }) {
  const report = { machine, options: opts, profiles: [] };
  const md = [];
  for (const sc of scenarios) {
    const dir = join(resultsDir, 'profiles', `${stamp}-${sc.name}`);
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const target = await setupScenario(sc, { ...env, port, nodeArgs: [...(env.nodeArgs ?? []), '--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '500'] });
    let res;
    let window;
    try {
      const load = (duration) => runLoad({ url: target.url, request: target.request, connections: opts.connections, duration, check: target.check, sampleSize: 0 });
      target.beforePhase?.(opts.warmup, 5000);
      const warm = await load(opts.warmup);
      target.beforePhase?.(opts.duration, warm.rps);
      const start = nowMicros();
      res = await load(opts.duration);
      window = { start, end: nowMicros() };
    } finally {
      await target.stop();
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) {
      console.log(`${sc.name}: no .cpuprofile written (the server must exit normally on SIGTERM for --cpu-prof to flush)`);
      continue;
    }
    for (const f of files) {
      const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')), window, res.ok, env.root);
      report.profiles.push({ scenario: sc.name, file: join(dir, f), rps: res.rps, p99: res.latency.p99, requests: res.ok, ...summary });
      const text = formatSummary(sc.name, res, summary);
      md.push(text);
      console.log(text);
    }
  }
  writeFileSync(join(resultsDir, `profile-${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(resultsDir, `profile-${stamp}.md`), md.join('\n\n'));
  console.log(`\nprofile summary: ${join(resultsDir, `profile-${stamp}.md`)}`);
}

function category(frame, root) {
  const { functionName: fn, url } = frame;
  if (!url) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)') return 'idle';
    if (fn === '(program)') return 'native (program)';
    return `native ${fn || '(anonymous)'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const m = /packages\/([^/]+)\/(?:dist|src)\/(.*)$/.exec(url);
  if (m) return `latchkey ${m[1]}/${m[2].split('/')[0]}`;
  if (url.includes('/bench/')) return 'bench';
  return url.replace(`file://${root}/`, '');
}

export function summarizeProfile(profile, window, requests, root = '') {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = profile.startTime;
  let total = 0;
  let inWindow = 0;
  const all = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const d = profile.timeDeltas[i + 1] ?? 0;
    all.set(profile.samples[i], (all.get(profile.samples[i]) ?? 0) + d);
    if (window && (t < window.start || t > window.end)) continue;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + d);
    inWindow += d;
  }
  // If clocks did not line up (non-Linux), fall back to the whole profile.
  const windowed = inWindow > 0.2 * ((window?.end ?? 0) - (window?.start ?? 0));
  const selfTimes = windowed ? self : all;
  const byFunction = new Map();
  const byCategory = new Map();
  for (const [id, us] of selfTimes) {
    const { callFrame } = byId.get(id);
    total += us;
    const short = callFrame.url ? callFrame.url.replace(`file://${root}/`, '').replace(/^.*node_modules\//, '') : '';
    const key = `${callFrame.functionName || '(anonymous)'}${short ? ` ${short}:${callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const cat = category(callFrame, root);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
  }
  const idle = byCategory.get('idle') ?? 0;
  const busy = total - idle;
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({
    name, ms: us / 1000, share: busy ? us / busy : 0, usPerRequest: requests ? us / requests : NaN,
  }));
  return {
    windowed,
    sampledMs: total / 1000,
    busyMs: busy / 1000,
    idleShare: total ? idle / total : 0,
    busyUsPerRequest: requests ? busy / requests : NaN,
    byCategory: rows(byCategory).filter((r) => r.name !== 'idle'),
    byFunction: rows(byFunction).filter((r) => r.name !== '(idle)').slice(0, 40),
  };
}

function formatSummary(name, res, s) {
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const us = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
  return [
    `### ${name}: ${Math.round(res.rps).toLocaleString('en-US')} req/s under the profiler, p99 ${res.latency.p99} ms`,
    `${s.windowed ? 'samples inside the load window only' : 'whole-process profile'}; busy ${s.busyMs.toFixed(0)} ms, idle ${pct(s.idleShare)}; ` +
      `**${us(s.busyUsPerRequest)} µs of CPU per request** (profiler overhead included)`,
    '',
    markdownTable(['where (self time)', 'µs/request', 'share'], s.byCategory.slice(0, 18).map((r) => [r.name, us(r.usPerRequest), pct(r.share)])),
    '',
    markdownTable(['top functions (self time)', 'µs/request', 'share'], s.byFunction.slice(0, 25).map((r) => [r.name, us(r.usPerRequest), pct(r.share)])),
  ].join('\n');
}
