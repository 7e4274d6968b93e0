import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

/** Key prefix of one deployment: one Redis may serve several (and many test runs), so keys carry the issuer. */
export function redisNamespace(issuer: string): string {
  return `latchkey:${createHash('sha256').update(issuer).digest('base64url').slice(0, 12)}:`;
}
import { CLIENT_FACTOR, limiterKeys, type FailureLimiter } from './failure-limiter.js';

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

  async blocked(address: string, clientId: string | undefined): Promise<number> {
    if (this.redis.status !== 'ready') return this.local.blocked(address, clientId);
    try {
      const keys = limiterKeys(address, clientId, this.prefix).blocking;
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

  async fail(address: string, clientId: string | undefined): Promise<number> {
    const localWait = await this.local.fail(address, clientId);
    if (this.redis.status !== 'ready') return localWait;
    try {
      const { blocking, client } = limiterKeys(address, clientId, this.prefix);
      const p = this.redis.pipeline();
      for (const k of client ? [...blocking, client] : blocking) p.incr(k).expire(k, this.windowSeconds, 'NX');
      if (client) p.pttl(client);
      const res = (await p.exec()) ?? [];
      if (!client) return 0;
      const n = Number(res[2 * blocking.length]?.[1] ?? 0);
      const ttl = Number(res[res.length - 1]?.[1] ?? -1);
      return n > this.max * CLIENT_FACTOR ? Math.max(1, Math.ceil(ttl / 1000)) : 0;
    } catch {
      return localWait;
    }
  }
}
