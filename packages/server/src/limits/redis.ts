import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

/** Key prefix of one deployment: one Redis may serve several (and many test runs), so keys carry the issuer. */
export function redisNamespace(issuer: string): string {
  return `latchkey:${createHash('sha256').update(issuer).digest('base64url').slice(0, 12)}:`;
}
import { limitKeys, type FailureLimiter } from './failure-limiter.js';

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
 * Failed-authentication counters shared by all nodes (fixed windows with INCR + EXPIRE NX), with the
 * semantics of {@link FailureLimiter}. When Redis is unreachable, the local limiter counts instead:
 * limits become per node, not off.
 */
export class RedisFailureLimiter implements FailureLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly local: FailureLimiter,
    private readonly max: number,
    private readonly windowSeconds: number,
    private readonly prefix = 'latchkey:fail:',
  ) {}

  async blocked(address: string, clientId: string | undefined, known: boolean): Promise<number> {
    if (this.redis.status !== 'ready') return this.local.blocked(address, clientId, known);
    try {
      const { key, max } = limitKeys(address, clientId, known, this.max, this.prefix).block;
      const res = (await this.redis.pipeline().get(key).pttl(key).exec()) ?? [];
      const n = Number(res[0]?.[1] ?? 0);
      const ttl = Number(res[1]?.[1] ?? -1);
      return n >= max ? Math.max(1, Math.ceil(ttl / 1000)) : 0;
    } catch {
      return this.local.blocked(address, clientId, known);
    }
  }

  async fail(address: string, clientId: string | undefined, known: boolean): Promise<number> {
    if (this.redis.status !== 'ready') return this.local.fail(address, clientId, known);
    try {
      const keys = limitKeys(address, clientId, known, this.max, this.prefix).count;
      const p = this.redis.pipeline();
      for (const { key } of keys) p.incr(key).expire(key, this.windowSeconds, 'NX').pttl(key);
      const res = (await p.exec()) ?? [];
      let wait = 0;
      keys.forEach(({ max }, i) => {
        const n = Number(res[3 * i]?.[1] ?? 0);
        const ttl = Number(res[3 * i + 2]?.[1] ?? -1);
        if (n > max) wait = Math.max(wait, Math.max(1, Math.ceil(ttl / 1000)));
      });
      return wait;
    } catch {
      return this.local.fail(address, clientId, known);
    }
  }
}
