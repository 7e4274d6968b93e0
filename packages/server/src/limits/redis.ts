import { Redis } from 'ioredis';
import type { FailureLimiter } from './failure-limiter.js';

/**
 * One Redis connection per process, tuned to fail fast: no offline queue, one retry, short timeouts.
 * A Redis outage then costs a request a few milliseconds before the fallback answers, never a hang.
 */
export function connectRedis(url: string, onError: (e: unknown) => void): Redis {
  const r = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 500,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  r.on('error', onError);
  return r;
}

/**
 * Failed-authentication counters shared by all nodes (fixed windows with INCR + EXPIRE NX).
 * When Redis is unreachable, the local limiter counts instead: limits become per node, not off.
 */
export class RedisFailureLimiter implements FailureLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly local: FailureLimiter,
    private readonly max: number,
    private readonly windowSeconds: number,
    private readonly prefix = 'latchkey:fail:',
  ) {}

  #keys(address: string, clientId: string | undefined): string[] {
    return clientId ? [`${this.prefix}a:${address}`, `${this.prefix}c:${address}|${clientId}`] : [`${this.prefix}a:${address}`];
  }

  async blocked(address: string, clientId: string | undefined): Promise<number> {
    if (this.redis.status !== 'ready') return this.local.blocked(address, clientId);
    try {
      const keys = this.#keys(address, clientId);
      const p = this.redis.pipeline();
      for (const k of keys) p.get(k).pttl(k);
      const res = (await p.exec()) ?? [];
      for (let i = 0; i < keys.length; i++) {
        const n = Number(res[2 * i]?.[1] ?? 0);
        const ttl = Number(res[2 * i + 1]?.[1] ?? -1);
        if (n >= this.max) return Math.max(1, Math.ceil(ttl / 1000));
      }
      return 0;
    } catch {
      return this.local.blocked(address, clientId);
    }
  }

  async fail(address: string, clientId: string | undefined): Promise<void> {
    await this.local.fail(address, clientId);
    if (this.redis.status !== 'ready') return;
    try {
      const p = this.redis.pipeline();
      for (const k of this.#keys(address, clientId)) p.incr(k).expire(k, this.windowSeconds, 'NX');
      await p.exec();
    } catch {
      /* counted locally */
    }
  }
}
