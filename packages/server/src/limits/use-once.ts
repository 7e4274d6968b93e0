import type { Redis } from 'ioredis';
import type { Store } from '../store/store.js';

/**
 * Single-use values — client-assertion `jti` (RFC 7523 §3 item 7) and DPoP proof `jti` (RFC 9449 §11.1) —
 * shared by every node. Without Redis the store records them (batched: concurrent requests share one
 * INSERT … ON CONFLICT … RETURNING, so one commit serves many requests). With Redis, `SET NX EXAT`.
 * If Redis fails, the store takes over (degrade, not break); see docs/operations.md for the one case this
 * does not cover (a partition where some nodes still reach Redis and others do not).
 */
export interface UseOnce {
  /** true when `key` was unused and is now recorded until `exp` (epoch seconds); false on replay. */
  use(key: string, exp: number): Promise<boolean>;
}

export class StoreUseOnce implements UseOnce {
  #queue: { key: string; exp: number; resolve: (v: boolean) => void; reject: (e: unknown) => void }[] = [];
  #flushing = false;

  constructor(private readonly store: Store, private readonly maxBatch = 200) {}

  use(key: string, exp: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ key, exp, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.maxBatch);
        // The same key twice in one batch: only the first can win.
        const first = new Map<string, number>();
        const entries: { key: string; exp: number }[] = [];
        batch.forEach((b, i) => {
          if (!first.has(b.key)) {
            first.set(b.key, i);
            entries.push({ key: b.key, exp: b.exp });
          }
        });
        try {
          const won = await this.store.useOnceMany(entries);
          batch.forEach((b, i) => b.resolve(first.get(b.key) === i && won.has(b.key)));
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}

export class RedisUseOnce implements UseOnce {
  constructor(
    private readonly redis: Redis,
    private readonly fallback: UseOnce,
    private readonly onFallback: (e: unknown) => void,
    private readonly prefix = 'latchkey:once:',
  ) {}

  async use(key: string, exp: number): Promise<boolean> {
    try {
      // EXAT: the key disappears exactly when the value could no longer be accepted anyway.
      const r = await this.redis.set(this.prefix + key, '1', 'EXAT', Math.max(exp, Math.floor(Date.now() / 1000) + 1), 'NX');
      return r === 'OK';
    } catch (e) {
      this.onFallback(e);
      return this.fallback.use(key, exp);
    }
  }
}
