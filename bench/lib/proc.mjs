// Child processes for the harness: servers pinned to one core, readiness
// polling, clean shutdown. The load generator (this process) is pinned to the
// other core by run.mjs itself.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

let tasksetChecked;
/** True when `taskset` exists and this machine has at least 2 CPUs to split. */
export function canPin(cpuCount) {
  if (tasksetChecked === undefined) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetChecked = r.status === 0;
  }
  return tasksetChecked && cpuCount >= 2;
}

/** Wraps argv with `taskset -c CPUS` when pinning is on and cpus is given. */
export function pinned(cpus, argv, pin) {
  return pin && cpus != null ? ['taskset', '-c', String(cpus), ...argv] : argv;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a long-running child. stdout/stderr are kept (last 64 KiB) so a
 * failing start can say why; `onLine` sees each stdout line.
 */
export function startChild(argv, { env = {}, cwd, onLine } = {}) {
  const child = spawn(argv[0], argv.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    out.stdout = (out.stdout + d).slice(-65536);
    if (onLine) {
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const l of lines) onLine(l);
    }
  });
  child.stderr.on('data', (d) => { out.stderr = (out.stderr + d).slice(-65536); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((e) => { exitInfo = e; });
  return {
    child,
    pid: child.pid,
    out,
    exited,
    get exitInfo() { return exitInfo; },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (exitInfo) return exitInfo;
      child.kill(signal);
      const t = sleep(graceMs).then(() => 'timeout');
      if ((await Promise.race([exited, t])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
      return exitInfo;
    },
  };
}

/** Polls `url` until it answers 200, the child exits, or the timeout passes. */
export async function waitReady(url, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    if (proc?.exitInfo) {
      throw new Error(`server exited before ready (${JSON.stringify(proc.exitInfo)}):\n${tail(proc)}`);
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
      lastErr = new Error(`status ${r.status}`);
    } catch (err) {
      lastErr = err;
    }
    await sleep(100);
  }
  throw new Error(`not ready after ${timeoutMs} ms at ${url}: ${lastErr?.message}\n${tail(proc)}`);
}

export function tail(proc, n = 2000) {
  if (!proc) return '';
  return `--- stdout ---\n${proc.out.stdout.slice(-n)}\n--- stderr ---\n${proc.out.stderr.slice(-n)}`;
}

/** Resident set size of a pid in bytes (Linux /proc), or null. */
export function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** RSS split by kind (bytes): anonymous (heap, malloc) vs file-backed (code, mapped files) vs shared memory. */
export function rssBreakdownOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return null;
  }
}

/** Runs a command to completion; returns {status, stdout, stderr}. */
export function runSync(argv, { env = {}, cwd, timeoutMs = 60_000, input } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, input, maxBuffer: 16 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks

function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch { /* gone or unsupported */ }
  return out;
}

/** CPU seconds (user + system) used so far by pid and its live descendants, or null. */
export function cpuSecondsOfTree(pid) {
  let total = 0;
  let found = false;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is state (field 3); utime is field 14, stime field 15
      total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      found = true;
    } catch { continue; }
    stack.push(...childrenOf(p));
  }
  return found ? total : null;
}

/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat), or null. */
export function machineBusySeconds() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    const busy = f.reduce((a, b) => a + b, 0) - f[3] - (f[4] ?? 0);
    return busy / CLK_TCK;
  } catch {
    return null;
  }
}

/** CPU seconds of a process split into its main thread and all other threads (V8 GC/compiler, libuv pool). */
export function threadCpuSeconds(pid) {
  let main = 0;
  let others = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const s = (Number(f[11]) + Number(f[12])) / CLK_TCK;
        if (Number(tid) === pid) main += s;
        else others += s;
      } catch { /* thread exited */ }
    }
  } catch {
    return null;
  }
  return { main, others };
}
