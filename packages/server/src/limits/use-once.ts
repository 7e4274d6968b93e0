import type { Redis } from 'ioredis';
import { GroupCommit } from '../store/group-commit.js';
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
  readonly #group: GroupCommit<{ key: string; exp: number }, boolean>;

  constructor(store: Store, maxBatch = 200) {
    this.#group = new GroupCommit(async (entries) => {
      // The same key twice in one batch: only its first occurrence can win.
      const first = new Map<string, number>();
      const unique: { key: string; exp: number }[] = [];
      entries.forEach((e, i) => {
        if (!first.has(e.key)) {
          first.set(e.key, i);
          unique.push(e);
        }
      });
      const won = await store.useOnceMany(unique);
      return entries.map((e, i) => first.get(e.key) === i && won.has(e.key));
    }, maxBatch);
  }

  use(key: string, exp: number): Promise<boolean> {
    return this.#group.submit({ key, exp });
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
