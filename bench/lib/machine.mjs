// Machine details recorded with every result file.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { runSync } from './proc.mjs';

export function machineInfo(root) {
  const cpus = os.cpus();
  let commit;
  let dirty;
  const g = runSync(['git', 'rev-parse', '--short', 'HEAD'], { cwd: root, timeoutMs: 5000 });
  if (g.status === 0) commit = g.stdout.trim();
  const d = runSync(['git', 'status', '--porcelain', '--', 'packages', 'bench'], { cwd: root, timeoutMs: 10_000 });
  if (d.status === 0) dirty = d.stdout.trim().length > 0;
  let cpuMHz;
  try {
    cpuMHz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]) || undefined;
  } catch { /* not Linux */ }
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuMHz,
    cores: cpus.length,
    totalMemory: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    hostname: os.hostname(),
    loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit,
    uncommittedChanges: dirty,
    date: new Date().toISOString(),
  };
}
