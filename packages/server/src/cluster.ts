import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { failureLimitsHub } from './limits/ipc.js';

/**
 * `latchkey start --workers N`: a primary that forks N workers sharing the listening port (node:cluster)
 * and holds no connections itself. The caller has already validated the configuration, the TLS files and
 * that the listen address can be bound, so a worker failing now is unexpected:
 * - a worker that dies before it is listening stops the whole server (the other workers too), with the
 *   worker's own one-line cause and a non-zero exit — replacing it would only fail again (issue #17:
 *   38 restarts in 90 s on a busy port, never exiting);
 * - a worker that dies later is replaced, at most `maxRestarts` times per `restartWindowMs` with a
 *   growing delay (0 s, 1 s, 2 s, 4 s, …); one more crash in that window stops the server, exit 1;
 * - SIGTERM/SIGINT ask every worker to drain its in-flight requests and stop; exit 0 once all are gone.
 */
export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** Printed (by the caller) once every worker listens. */
  onListening?: () => void;
  /** Ends the process; tests replace it. Default: process.exit. */
  exit?: (code: number, message?: string) => void;
  maxRestarts?: number;
  restartWindowMs?: number;
  /** A worker not listening after this long counts as a failed start. */
  startupTimeoutMs?: number;
}

/** IPC message a worker sends when its start-up failed, so the primary can print the cause once. */
interface StartupFailure {
  type: 'latchkey:startup-failed';
  message: string;
  code: number;
}
const isStartupFailure = (m: unknown): m is StartupFailure =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'latchkey:startup-failed';

/** Restart delay after the n-th crash in the window (n ≥ 1): 0, 1, 2, 4, 8 … s, at most 30 s. */
export function restartDelay(n: number): number {
  return n <= 1 ? 0 : Math.min(30_000, 1000 * 2 ** (n - 2));
}

export function runPrimary(opts: PrimaryOptions): void {
  const { workers, log } = opts;
  const maxRestarts = opts.maxRestarts ?? 5;
  const windowMs = opts.restartWindowMs ?? 5 * 60_000;
  const startupTimeoutMs = opts.startupTimeoutMs ?? 120_000;
  const defaultExit = (code: number, message?: string) => {
    if (message) process.stderr.write(`latchkey: ${message}\n`);
    process.exit(code);
  };
  const exit = opts.exit ?? defaultExit;

  let stopping = false;
  let allListening = false;
  const listening = new Set<number>();
  const causes = new Map<number, StartupFailure>();
  const crashes: number[] = [];
  // Without Redis, the failed-authentication counters of every worker live here (limits/ipc.ts).
  const limits = failureLimitsHub();

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  /** Stop every worker, then exit with `code`; forced after 15 s. */
  const shutdown = (code: number, message?: string) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(startupTimer);
    for (const w of live()) w.process.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const w of live()) w.process.kill('SIGKILL');
      exit(code === 0 ? 1 : code, message ?? 'workers did not stop within 15 s');
    }, 15_000);
    force.unref();
    const done = () => {
      clearTimeout(force);
      exit(code, message);
    };
    if (live().length === 0) done();
    else cluster.on('exit', () => live().length === 0 && done());
  };

  /** A worker as the limits hub sends to it: never throws or emits 'error' when the worker is gone. */
  const peer = (w: Worker) => ({
    send: (m: unknown) => {
      if (w.isConnected()) w.send(m as object, () => {});
    },
  });
  const fork = (): Worker => {
    const w = cluster.fork(); // a worker knows it is one through node:cluster (isWorker), not the environment
    w.on('message', (m: unknown) => {
      if (isStartupFailure(m)) causes.set(w.id, m);
      else limits.handle(peer(w), m, () => live().map(peer));
    });
    return w;
  };

  cluster.on('listening', (worker) => {
    listening.add(worker.id);
    if (!allListening && listening.size >= workers) {
      allListening = true;
      clearTimeout(startupTimer);
      opts.onListening?.();
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const wasListening = listening.delete(worker.id);
    const cause = causes.get(worker.id);
    causes.delete(worker.id);
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!wasListening && !allListening) {
      // Start-up failure: the same cause would kill every replacement.
      log.error({ pid: worker.process.pid, code, signal }, 'worker failed during start-up: stopping');
      shutdown(cause?.code ?? 1, cause ? cause.message : `a worker failed during start-up (${how}); nothing was listening yet`);
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length && crashes[0]! < now - windowMs) crashes.shift();
    if (crashes.length > maxRestarts) {
      log.error({ pid: worker.process.pid, code, signal, crashes: crashes.length }, 'workers keep dying: stopping');
      shutdown(1, `workers died ${crashes.length} times within ${Math.round(windowMs / 1000)} s (last: ${cause?.message ?? how}); stopping`);
      return;
    }
    const delay = restartDelay(crashes.length);
    log.error({ pid: worker.process.pid, code, signal, restartInMs: delay, restartsLeft: maxRestarts - crashes.length }, 'worker died: starting a replacement');
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  const startupTimer = setTimeout(() => {
    if (!allListening) shutdown(1, `workers were not listening ${Math.round(startupTimeoutMs / 1000)} s after start; stopping`);
  }, startupTimeoutMs);
  startupTimer.unref();

  for (let i = 0; i < workers; i++) fork();

  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'shutting down: workers drain in-flight requests');
    shutdown(0);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

/**
 * In a worker: tell the primary why start-up failed (it prints the one line and stops the server), then
 * exit with `code`. Outside a worker this does nothing and returns.
 */
export function reportStartupFailure(message: string, code: number): void {
  if (!cluster.isWorker || !process.send) return;
  const m: StartupFailure = { type: 'latchkey:startup-failed', message, code };
  process.send(m, () => process.exit(code));
  // If the channel is gone the callback may never run.
  setTimeout(() => process.exit(code), 1000).unref();
}

export const isWorker = () => cluster.isWorker;
