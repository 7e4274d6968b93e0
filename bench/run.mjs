#!/usr/bin/env node
// npm run bench — Latchkey side by side with a raw node:http ceiling,
// oidc-provider and @node-oauth/oauth2-server, on the same machine, with the
// same load generator. See bench/README.md.
//
//   node bench/run.mjs [--quick] [--only a,b] [--repeats N] [--duration S]
//                      [--warmup S] [--connections N] [--no-pin] [--no-external]
//   node bench/run.mjs --profile [--only latchkey]     CPU profile of the token path
//   node bench/run.mjs --memory [--tokens N]           RSS / storage growth
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { canPin, freePort, rssOf, cpuSecondsOfTree, machineBusySeconds, threadCpuSeconds } from './lib/proc.mjs';
import { machineInfo } from './lib/machine.mjs';
import { runLoad } from './lib/load.mjs';
import { SCENARIOS, setupScenario, Unsupported } from './lib/scenarios.mjs';
import { summarize, buildTable, evaluateTargets, formatTargets, markdownTable } from './lib/report.mjs';
import { findExternalScripts, runExternal, wantsAllCores } from './lib/external.mjs';
import { runProfile } from './lib/profile.mjs';
import { runMemory } from './lib/memory.mjs';
import { runMicro } from './lib/micro.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const resultsDir = join(benchDir, 'results');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    repeats: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    'no-pin': { type: 'boolean', default: false },
    'no-external': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
    tokens: { type: 'string' },
    out: { type: 'string' },
    'wait-quiet': { type: 'string' },
    'node-args': { type: 'string' },
    list: { type: 'boolean', default: false },
    micro: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(`usage: node bench/run.mjs [--quick] [--only NAME[,NAME]] [--repeats N] [--duration S] [--warmup S]
                         [--connections N] [--no-pin] [--no-external] [--list] [--out FILE]
                         [--wait-quiet S]   before each run, wait up to S seconds for other processes to go quiet
                         [--node-args "..."] extra node flags for every server (e.g. --single-threaded-gc)
       node bench/run.mjs --profile [--only latchkey] [--duration S]
       node bench/run.mjs --memory [--tokens N]
       node bench/run.mjs --micro                  per-token building blocks (sign, verify, hash) in-process
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}, plus bench/resource-*.mjs and bench/client-*.mjs`);
  process.exit(0);
}

const cores = os.cpus().length;
const pin = !args['no-pin'] && canPin(cores);

// The load generator is this process: pin it to core 1 by re-executing under
// taskset once; servers are started with `taskset -c 0`.
if (pin && process.env.LATCHKEY_BENCH_PINNED !== '1') {
  const r = spawnSync('taskset', ['-c', '1', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, LATCHKEY_BENCH_PINNED: '1' },
  });
  process.exit(r.status ?? 1);
}

const quick = args.quick;
const opts = {
  quick,
  repeats: Number(args.repeats ?? (quick ? 1 : 3)),
  duration: Number(args.duration ?? (quick ? 2 : 10)),
  warmup: Number(args.warmup ?? (quick ? 1 : 3)),
  connections: Number(args.connections),
  pin,
  serverCpus: pin ? '0' : undefined,
  loadCpus: pin ? '1' : undefined,
  allCpus: pin ? `0-${cores - 1}` : undefined,
};

function selectScenarios() {
  if (!args.only) return { builtIn: SCENARIOS, external: true };
  const wanted = args.only.split(',').map((s) => s.trim()).filter(Boolean);
  const pick = (name) => wanted.some((w) => (w.endsWith('*') ? name.startsWith(w.slice(0, -1)) : name === w));
  return { builtIn: SCENARIOS.filter((s) => pick(s.name)), external: pick, wanted };
}

if (args.list) {
  console.log(SCENARIOS.map((s) => `${s.name.padEnd(32)} ${s.what}`).join('\n'));
  for (const s of findExternalScripts(benchDir)) console.log(`${s.name.padEnd(32)} ${s.file} (external)`);
  process.exit(0);
}

mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const machine = machineInfo(root);
const selection = selectScenarios();
const env = {
  root, pin, serverCpus: opts.serverCpus, allCpus: opts.allCpus, connections: opts.connections,
  nodeArgs: args['node-args'] ? args['node-args'].split(/\s+/).filter(Boolean) : [],
};
opts.serverNodeArgs = env.nodeArgs;

if (args.profile) {
  const names = selection.builtIn.length && args.only ? selection.builtIn : SCENARIOS.filter((s) => s.name === 'latchkey');
  await runProfile({ scenarios: names, env, opts, resultsDir, stamp, machine });
  process.exit(0);
}
if (args.micro) {
  await runMicro();
  process.exit(0);
}
if (args.memory) {
  await runMemory({ env, opts, resultsDir, stamp, machine, tokens: Number(args.tokens ?? (quick ? 50_000 : 1_000_000)) });
  process.exit(0);
}

console.log(`Latchkey bench — ${machine.cpuModel}, ${cores} cores, node ${machine.node}, ${machine.date}`);
console.log(`${opts.connections} connections, warm-up ${opts.warmup} s, ${opts.repeats} × ${opts.duration} s per scenario, ` +
  `${pin ? 'servers pinned to core 0, load generator to core 1' : 'no CPU pinning (taskset unavailable or --no-pin)'}, ` +
  `load average ${machine.loadavgAtStart.join(' ')}\n`);

/**
 * On a shared machine: wait (up to `seconds`) until processes other than ours
 * use less than 30 % of a core, sampled over one second. Returns seconds waited.
 */
async function waitQuiet(seconds) {
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    const b0 = machineBusySeconds();
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const mine = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1e6;
    if (machineBusySeconds() - b0 - mine < 0.3) break;
  }
  return (Date.now() - started) / 1000;
}

/** One scenario, one round: start server, warm up, measure, verify, stop. */
async function runOnce(sc) {
  const waited = args['wait-quiet'] ? await waitQuiet(Number(args['wait-quiet'])) : 0;
  const port = await freePort();
  let target;
  try {
    target = await setupScenario(sc, { ...env, port });
  } catch (err) {
    if (err instanceof Unsupported) return { unsupported: err.message };
    return { error: err.message.split('\n')[0], detail: err.message };
  }
  try {
    const load = (duration, sampleSize) => runLoad({ url: target.url, request: target.request, connections: opts.connections, duration, check: target.check, sampleSize });
    target.beforePhase?.(opts.warmup, 5000);
    const warm = await load(opts.warmup, 0);
    target.beforePhase?.(opts.duration, warm.rps);
    const serverCpu0 = cpuSecondsOfTree(target.pid);
    const threads0 = threadCpuSeconds(target.pid);
    const loadCpu0 = process.cpuUsage();
    const machine0 = machineBusySeconds();
    const res = await load(opts.duration, 200);
    const loadCpu = process.cpuUsage(loadCpu0);
    const serverCpu = cpuSecondsOfTree(target.pid) - serverCpu0;
    const machineBusy = machineBusySeconds() - machine0;
    const threads1 = threadCpuSeconds(target.pid);
    const rssAfter = rssOf(target.pid);
    const cpu = {
      serverCores: serverCpu / res.seconds,
      serverUsPerRequest: res.ok ? (serverCpu * 1e6) / res.ok : NaN,
      loadgenCores: (loadCpu.user + loadCpu.system) / 1e6 / res.seconds,
    };
    // Main thread vs the rest (V8's concurrent GC/compiler threads, libuv pool) of the server's
    // first process; with --workers this is the primary only, so leave it out.
    if (threads0 && threads1 && !sc.workers) {
      cpu.mainThreadUsPerRequest = res.ok ? ((threads1.main - threads0.main) * 1e6) / res.ok : NaN;
      cpu.otherThreadsUsPerRequest = res.ok ? ((threads1.others - threads0.others) * 1e6) / res.ok : NaN;
    }
    // CPU the rest of the machine (other users of a shared box) took during the run.
    cpu.otherCores = Math.max(0, machineBusy / res.seconds - cpu.serverCores - cpu.loadgenCores);
    const problems = [];
    for (const [label, r] of [['warm-up', warm], ['run', res]]) {
      if (r.non2xx) problems.push(`${label}: ${r.non2xx} non-2xx`);
      if (r.errors) problems.push(`${label}: ${r.errors} errors ${r.firstErrors.join(', ')}`.trim());
      if (r.timeouts) problems.push(`${label}: ${r.timeouts} timeouts`);
      if (r.badBodies) problems.push(`${label}: ${r.badBodies} bad bodies, first: ${r.firstBad}`);
    }
    if (res.ok === 0) problems.push('no successful response');
    problems.push(...(await target.verify(res.samples)));
    const { samples, ...kept } = res;
    return {
      ...kept,
      verifiedSamples: samples.length,
      waitedForQuietSeconds: waited,
      cpu,
      warmupRps: warm.rps,
      rssAfter,
      problems,
      valid: problems.length === 0,
      notes: [
        ...target.notes,
        ...(target.pool?.inline > 100 ? [`${target.pool.inline} assertions signed inline by the load generator`] : []),
        ...(cpu.otherCores > 0.25 ? [`other processes used ${(cpu.otherCores * 100).toFixed(0)}% of a core during the run: noisy`] : []),
        ...(cpu.loadgenCores > 0.9 ? [`load generator used ${(cpu.loadgenCores * 100).toFixed(0)}% of its core: this rate may be load-generator bound`] : []),
      ],
    };
  } catch (err) {
    return { error: err.message.split('\n')[0], detail: err.message };
  } finally {
    await target.stop();
  }
}

function fmtValue(v) {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return Math.abs(v) >= 1 || v === 0 ? v.toFixed(2) : v.toPrecision(3);
}

const perScenario = new Map(selection.builtIn.map((s) => [s.name, []]));
const skip = new Set();
// Rounds interleave the scenarios (A B C, A B C, …) so slow drift in machine
// load (shared cores) spreads over all of them instead of biasing one.
for (let round = 0; round < opts.repeats; round++) {
  for (const sc of selection.builtIn) {
    if (skip.has(sc.name)) continue;
    process.stdout.write(`[${round + 1}/${opts.repeats}] ${sc.name.padEnd(32)} `);
    const r = await runOnce(sc);
    perScenario.get(sc.name).push(r);
    if (r.unsupported) {
      skip.add(sc.name);
      console.log(`not supported yet: ${r.unsupported}`);
    } else if (r.error) {
      skip.add(sc.name);
      console.log(`ERROR: ${r.error}`);
      if (process.env.BENCH_DEBUG) console.log(r.detail);
    } else {
      console.log(`${Math.round(r.rps).toLocaleString('en-US').padStart(8)} req/s  p99 ${r.latency.p99} ms  ` +
        `server ${r.cpu.serverUsPerRequest.toFixed(0)} µs/req @ ${(r.cpu.serverCores * 100).toFixed(0)}% CPU, loadgen ${(r.cpu.loadgenCores * 100).toFixed(0)}%, others ${(r.cpu.otherCores * 100).toFixed(0)}%  ${r.valid ? 'ok' : `INVALID ${r.problems.join('; ').slice(0, 200)}`}`);
    }
  }
}

const rows = selection.builtIn.map((sc) => ({ ...summarize(sc.name, sc, perScenario.get(sc.name)), peerName: sc.peer }));

// Standalone scripts (in-process verification / client benchmarks).
const external = [];
if (!args['no-external']) {
  const scripts = findExternalScripts(benchDir).filter((s) => selection.external === true || selection.external(s.name));
  const ownResultFiles = new Set([`${stamp}.json`]);
  for (const s of scripts) {
    process.stdout.write(`[ext] ${s.name.padEnd(32)} `);
    // In-process micro-benchmarks get the server core; scripts that run their own servers and
    // load generator get both cores (they would otherwise inherit this process's core 1).
    const cpus = wantsAllCores(s) ? opts.allCpus : opts.serverCpus;
    const r = await runExternal(s, { quick, pin, cpus, resultsDir, root, ownResultFiles, timeoutMs: quick ? 180_000 : 1_200_000 });
    external.push(r);
    console.log(r.exitCode === 0 ? `done in ${r.seconds.toFixed(1)} s, ${r.rows.length} result rows` : `FAILED (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}): ${r.stderrTail.trim().split('\n').slice(-1)[0] ?? ''}`);
  }
}

console.log('');
console.log(buildTable(rows));
for (const r of rows) for (const n of r.notes) console.log(`  note: ${r.name}: ${n}`);
const targets = [...evaluateTargets(rows), ...external.flatMap((e) => e.targets ?? [])];
console.log('\nTargets (issue 16, ratios within this run):');
console.log(formatTargets(targets));
if (external.length) {
  console.log('\nStandalone scripts (in-process ones pinned to core 0; scripts with their own load generator on all cores):');
  const lines = external.flatMap((e) => (e.rows.length
    ? e.rows.map((r) => [e.name, r.name, r.metric, fmtValue(r.value), Number.isFinite(r.p99) ? String(r.p99) : '', r.failures ? `${r.failures} FAILURES` : ''])
    : [[e.name, e.exitCode === 0 ? '(no rows found in its JSON; see its output)' : `FAILED exit ${e.exitCode}`, '', '', '', '']]));
  console.log(markdownTable(['script', 'case', 'metric', 'value', 'p99 ms', ''], lines));
}

const invalid = rows.filter((r) => r.repeats > 0 && !r.valid).map((r) => r.name);
machine.loadavgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
const file = args.out ?? join(resultsDir, `${stamp}.json`);
writeFileSync(file, JSON.stringify({ machine, options: opts, scenarios: rows, targets, external }, null, 2));
console.log(`\nresults: ${file}${invalid.length ? `\nINVALID runs: ${invalid.join(', ')}` : ''}`);
process.exitCode = invalid.length ? 1 : 0;
