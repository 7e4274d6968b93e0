import cluster from 'node:cluster';
import { limitKeys, MAX_ENTRIES, MemoryFailureLimiter, type FailureLimiter, type LimitKey } from './failure-limiter.js';

/**
 * Failed-authentication counters shared by every worker of one node (`latchkey start --workers N`
 * without Redis): the cluster primary holds the one {@link MemoryFailureLimiter}; workers send each
 * failure to it over the IPC channel and get the wait back. The pre-check costs no round trip: when a
 * counter reaches its budget the primary pushes "blocked until" for that key to every worker, which
 * keeps it in a small local table. With `--workers 4` the budget is then 20 failures in total, not 4 × 20.
 */

interface FailMessage {
  type: 'latchkey:limits:fail';
  seq: number;
  keys: LimitKey[];
  windowSeconds: number;
}
interface ResultMessage {
  type: 'latchkey:limits:result';
  seq: number;
  wait: number;
}
interface BlockMessage {
  type: 'latchkey:limits:block';
  key: string;
  until: number;
}

const isMessage = <T extends { type: string }>(m: unknown, type: T['type']): m is T =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;

/** How long a worker waits for the primary before counting locally instead. */
const IPC_TIMEOUT_MS = 1000;

/** A worker's limiter: counts at the primary, checks blocks pushed by it. */
export class IpcFailureLimiter implements FailureLimiter {
  readonly #blocks = new Map<string, number>();
  readonly #pending = new Map<number, (wait: number) => void>();
  #seq = 0;
  readonly #onMessage = (m: unknown) => {
    if (isMessage<ResultMessage>(m, 'latchkey:limits:result')) {
      this.#pending.get(m.seq)?.(m.wait);
      this.#pending.delete(m.seq);
    } else if (isMessage<BlockMessage>(m, 'latchkey:limits:block') && typeof m.key === 'string' && typeof m.until === 'number') {
      // Blocks end in the order they arrive (one window length): expired ones and, when full, the oldest
      // are dropped from the front.
      const now = Date.now();
      for (const [k, until] of this.#blocks) {
        if (until > now && this.#blocks.size < MAX_ENTRIES) break;
        this.#blocks.delete(k);
      }
      this.#blocks.delete(m.key);
      this.#blocks.set(m.key, m.until);
    }
  };

  constructor(
    private readonly max: number,
    private readonly windowSeconds: number,
    private readonly channel: { send(m: FailMessage): boolean; on(e: 'message', f: (m: unknown) => void): unknown; off(e: 'message', f: (m: unknown) => void): unknown },
    /** Counts when the primary does not answer (it is going away): limits become per worker, not off. */
    private readonly fallback = new MemoryFailureLimiter(max, windowSeconds),
  ) {
    channel.on('message', this.#onMessage);
  }

  close(): void {
    this.channel.off('message', this.#onMessage);
    for (const resolve of this.#pending.values()) resolve(0);
    this.#pending.clear();
  }

  blocked(address: string, clientId: string | undefined, known: boolean): number {
    const { key } = limitKeys(address, clientId, known, this.max).block;
    const until = this.#blocks.get(key);
    const now = Date.now();
    if (until !== undefined && until > now) return Math.max(1, Math.ceil((until - now) / 1000));
    if (until !== undefined) this.#blocks.delete(key);
    return this.fallback.blocked(address, clientId, known);
  }

  fail(address: string, clientId: string | undefined, known: boolean): Promise<number> {
    const keys = limitKeys(address, clientId, known, this.max).count;
    const seq = ++this.#seq;
    return new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        resolve(this.fallback.fail(address, clientId, known));
      }, IPC_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(seq, (wait) => {
        clearTimeout(timer);
        resolve(wait);
      });
      try {
        this.channel.send({ type: 'latchkey:limits:fail', seq, keys, windowSeconds: this.windowSeconds });
      } catch {
        // The channel is closed (the primary is going away).
        this.#pending.delete(seq);
        clearTimeout(timer);
        resolve(this.fallback.fail(address, clientId, known));
      }
    });
  }
}

/**
 * The limiter of one server process without Redis: a worker of a cluster counts at the primary
 * (shared by the node's workers), a single process in memory.
 */
export function nodeFailureLimiter(max: number, windowSeconds: number): { limiter: FailureLimiter; close(): void } {
  if (cluster.isWorker && typeof process.send === 'function') {
    const send = process.send.bind(process);
    const limiter = new IpcFailureLimiter(max, windowSeconds, {
      send: (m) => send(m),
      on: (e, f) => process.on(e, f),
      off: (e, f) => process.off(e, f),
    });
    return { limiter, close: () => limiter.close() };
  }
  return { limiter: new MemoryFailureLimiter(max, windowSeconds), close: () => {} };
}

/** A worker as the primary's hub sees it. */
export interface LimitsPeer {
  send(m: ResultMessage | BlockMessage): unknown;
}

/**
 * The primary's side: one counter table for every worker. `handle` answers a worker's failure and
 * pushes new blocks to every worker (`peers()`); messages of other kinds are ignored (returns false).
 */
export function failureLimitsHub(): { handle(from: LimitsPeer, m: unknown, peers: () => Iterable<LimitsPeer>): boolean } {
  let table: MemoryFailureLimiter | undefined;
  const validKeys = (keys: unknown): keys is LimitKey[] =>
    Array.isArray(keys) &&
    keys.length <= 4 &&
    keys.every((k: unknown) => typeof k === 'object' && k !== null && typeof (k as LimitKey).key === 'string' && (k as LimitKey).key.length <= 512 && typeof (k as LimitKey).max === 'number');
  return {
    handle(from, m, peers) {
      if (!isMessage<FailMessage>(m, 'latchkey:limits:fail')) return false;
      if (typeof m.seq !== 'number' || !validKeys(m.keys) || typeof m.windowSeconds !== 'number') return true;
      table ??= new MemoryFailureLimiter(0, m.windowSeconds);
      const now = Date.now();
      const wait = table.count(m.keys, now);
      for (const k of m.keys) {
        const w = table.waitFor(k, now);
        if (w > 0) {
          const block: BlockMessage = { type: 'latchkey:limits:block', key: k.key, until: now + w * 1000 };
          for (const p of peers()) {
            try {
              p.send(block);
            } catch {
              // a worker going away
            }
          }
        }
      }
      try {
        from.send({ type: 'latchkey:limits:result', seq: m.seq, wait });
      } catch {
        // the worker is gone
      }
      return true;
    },
  };
}
