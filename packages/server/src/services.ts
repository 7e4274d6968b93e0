import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { AuthContext } from './client-auth/types.js';
import { SecretHasher } from './client-auth/secret-hash.js';
import { Keyring } from './keys/keyring.js';
import { Sealer, loadKek } from './keys/seal.js';
import { MemoryFailureLimiter, type FailureLimiter } from './limits/failure-limiter.js';
import { connectRedis, RedisFailureLimiter, redisNamespace } from './limits/redis.js';
import { RedisUseOnce, StoreUseOnce, type UseOnce } from './limits/use-once.js';
import type { Redis } from 'ioredis';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { ChangeFeed } from './store/change-feed.js';
import { ClientCache } from './store/client-cache.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import { Minter } from './tokens/mint.js';
import { RevocationCache } from './tokens/revocations.js';
import { startLifecycle } from './keys/rotate.js';

/** Everything an endpoint needs, built once per process. */
export interface Services extends AuthContext {
  readonly config: Config;
  readonly store: Store;
  readonly sealer: Sealer;
  readonly hasher: SecretHasher;
  readonly keyring: Keyring;
  readonly clients: ClientCache;
  readonly feed: ChangeFeed;
  readonly minter: Minter;
  /** Revoked JWT ids, fed by the change feed (tokens/revocations.ts). */
  readonly revocations: RevocationCache;
  readonly limiter: FailureLimiter;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Shared Redis connection when configured. */
  readonly redis: Redis | undefined;
  readonly once: UseOnce;
  /** Hooks run on close (timers, Redis connections, …). */
  readonly closers: (() => Promise<void> | void)[];
}

/** Opens the store, migrates it, loads keys and clients. Used by the server and by CLI commands. */
export async function openServices(config: Config, log: Logger, opts: { createKek?: boolean } = {}): Promise<Services> {
  const store = openStore(config.db, { sqliteCacheMb: config.sqliteCacheMb });
  await store.migrate();
  const kek = loadKek({ kek: config.kek, dataDir: config.dataDir, create: opts.createKek ?? true });
  const sealer = new Sealer(kek);
  const hasher = new SecretHasher(kek);
  const keyring = new Keyring(store, sealer, {
    alg: config.signingAlg,
    prePublishSeconds: config.keyPrePublish,
    maxTokenTtlSeconds: config.maxAccessTokenTtl,
  });
  await keyring.load();
  const clients = new ClientCache(store);
  const feed = new ChangeFeed(store, config.changePollInterval, (e) => log.warn({ err: errSummary(e) }, 'change feed poll failed'));
  const metrics = createMetrics();
  let redisDown = false;
  const redis = config.redis
    ? connectRedis(config.redis, (e) => {
        if (!redisDown) log.warn({ err: errSummary(e) }, 'redis unavailable: falling back to the store / local limits');
        redisDown = true;
      })
    : undefined;
  redis?.on('ready', () => {
    if (redisDown) log.info('redis available again');
    redisDown = false;
  });
  const localLimiter = new MemoryFailureLimiter(config.rateLimitFailures, config.rateLimitWindow);
  const storeOnce = new StoreUseOnce(store);
  // One Redis may serve several deployments (and test runs): keys are namespaced by issuer.
  const redisPrefix = redisNamespace(config.issuer);
  const once: UseOnce = redis ? new RedisUseOnce(redis, storeOnce, () => metrics.redisFallbacks.inc(), `${redisPrefix}once:`) : storeOnce;
  const services: Services = {
    config,
    store,
    sealer,
    hasher,
    keyring,
    clients,
    feed,
    minter: new Minter(config.issuer, keyring, store, config.accessTokenTtl),
    revocations: new RevocationCache(store, config.maxAccessTokenTtl),
    limiter: redis ? new RedisFailureLimiter(redis, localLimiter, config.rateLimitFailures, config.rateLimitWindow, `${redisPrefix}fail:`) : localLimiter,
    metrics,
    log,
    closers: redis ? [() => void redis.disconnect()] : [],
    redis,
    once,
    useOnce: (key, exp) => once.use(key, exp),
  };
  return services;
}

/** Loads caches and starts following the change feed (server only; CLI commands don't need it). */
export async function startServices(s: Services): Promise<void> {
  await s.keyring.ensureKey();
  await s.clients.loadAll();
  s.metrics.clients.set(s.clients.size);
  s.feed.on(async (events) => {
    let keys = false;
    for (const e of events) {
      if (e.kind === 'client') await s.clients.refresh(e.ref);
      else if (e.kind === 'key') keys = true;
    }
    if (keys) await s.keyring.load();
    s.metrics.clients.set(s.clients.size);
  });
  await s.feed.start();
  // Revoked-jti cache and the maintenance timer (key rotation schedule, clean-up): keys/rotate.ts.
  await startLifecycle(s);
}

export async function closeServices(s: Services): Promise<void> {
  s.feed.stop();
  for (const c of s.closers.reverse()) await c();
  await s.store.close();
}

/** Error text safe for logs: message and code only, never request data. */
export function errSummary(e: unknown): { message: string; code?: string } {
  const err = e as { message?: string; code?: string };
  return { message: String(err?.message ?? e), ...(err?.code ? { code: err.code } : {}) };
}
