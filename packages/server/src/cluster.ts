import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/**
 * `latchkey start --workers N`: a primary that forks N workers sharing the listening port
 * (node:cluster), replaces a worker that dies, and on SIGTERM/SIGINT asks every worker to drain its
 * in-flight requests and stop. The primary holds no connections and serves no requests itself.
 */
export function runPrimary(workers: number, log: Logger): void {
  let stopping = false;
  const recentDeaths: number[] = [];
  const fork = (): Worker => cluster.fork({ LATCHKEY_WORKER: '1' });

  for (let i = 0; i < workers; i++) fork();

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length && recentDeaths[0]! < now - 60_000) recentDeaths.shift();
    log.error({ pid: worker.process.pid, code, signal }, 'worker died: starting a replacement');
    // Crash loop guard: back off instead of forking as fast as workers die.
    const delay = recentDeaths.length > workers * 5 ? 5000 : 0;
    setTimeout(fork, delay);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: workers drain in-flight requests');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export const isWorker = () => cluster.isWorker;
