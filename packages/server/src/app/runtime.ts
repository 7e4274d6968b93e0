import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ClientKeys } from '../client-auth/client-jwks.js';
import { TrustedIssuers } from '../client-auth/federated/trusted-issuer-keys.js';
import { ConfigError, describeSetting } from '../config.js';
import { createOutbound, OutboundAllowError, type Outbound } from '../outbound/index.js';
import { SecretHasher } from '../client-auth/secret-hash.js';
import { Keyring } from '../keys/keyring.js';
import { Maintenance } from '../keys/rotate.js';
import { Sealer, loadKek } from '../keys/seal.js';
import type { FailureLimiter } from '../limits/failure-limiter.js';
import { nodeFailureLimiter } from '../limits/ipc.js';
import { connectRedis, RedisFailureLimiter, redisNamespace } from '../limits/redis.js';
import { RedisUseOnce, StoreUseOnce, type UseOnce } from '../limits/use-once.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { errSummary } from '../shared/errors.js';
import { ChangeFeed } from '../store/change-feed.js';
import { ClientCache } from '../store/client-cache.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { Minter } from '../tokens/mint.js';
import { RevocationCache } from '../tokens/revocations.js';
import { OpaqueTokenCache } from '../tokens/opaque-cache.js';

/**
 * The stateful parts of one server (or one CLI command): opened by the composition root, which hands
 * each component only the parts it uses — no component receives the whole record. Two runtimes in one
 * process share nothing (tests build several).
 */
export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly sealer: Sealer;
  readonly hasher: SecretHasher;
  readonly keyring: Keyring;
  readonly clients: ClientCache;
  /** The clients' registered keys (jwks / jwks_uri) and their fetch cache. */
  readonly clientKeys: ClientKeys;
  /** The one outbound HTTP client (SPEC §8): client jwks_uri, trusted issuers' discovery and keys. */
  readonly outbound: Outbound;
  /** Trusted issuers of federated clients and their keys (SPEC §9), fed by the change feed. */
  readonly trustedIssuers: TrustedIssuers;
  readonly feed: ChangeFeed;
  readonly minter: Minter;
  /** Opaque tokens issued or looked up here, dropped on revocation (here at once, elsewhere via the change feed). */
  readonly opaqueTokens: OpaqueTokenCache;
  /** Revoked JWT ids, fed by the change feed (tokens/revocations.ts). */
  readonly revocations: RevocationCache;
  readonly limiter: FailureLimiter;
  readonly metrics: Metrics;
  /** Shared Redis connection when configured. */
  readonly redis: Redis | undefined;
  readonly once: UseOnce;
  /** Single-use check (assertion and DPoP proof jti): `once.use`. */
  useOnce(key: string, expSeconds: number): Promise<boolean>;
  /** Background key rotation and clean-up; set by startRuntime (server only). */
  maintenance: Maintenance | undefined;
  /** Hooks run on close, last first (timers, Redis connections, …). */
  readonly closers: (() => Promise<void> | void)[];
}

/** Opens the store, migrates it, loads keys. Used by the server and by CLI commands. */
export async function openRuntime(config: Config, log: Logger, opts: { createKek?: boolean } = {}): Promise<Runtime> {
  const warn = (message: string) => log.warn(message);
  const store = openStore(config.db, { sqliteCacheMb: config.sqliteCacheMb, warn });
  try {
    await store.migrate();
    // Never generate a KEK for a store already in use: its sealed keys and hashed secrets need the old one.
    if (!config.kek && !existsSync(join(config.dataDir, 'kek')) && ((await store.listKeys()).length > 0 || (await store.listClients({ limit: 1 })).total > 0)) {
      throw new ConfigError(`invalid setting ${describeSetting('kek')}: the store already holds signing keys or clients but no key-encryption key is set and ${join(config.dataDir, 'kek')} does not exist (restore that file or set the KEK the store was made with; a new one is not generated)`);
    }
    const kek = loadKek({ kek: config.kek, dataDir: config.dataDir, create: opts.createKek ?? true, warn });
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
    const opaqueTokens = new OpaqueTokenCache(store, { max: config.opaqueTokenCache, syncedAt: () => feed.syncedAt });
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
    // Without Redis the workers of a node share the primary's counters (limits/ipc.ts).
    const nodeLimits = nodeFailureLimiter(config.rateLimitFailures, config.rateLimitWindow);
    const localLimiter = nodeLimits.limiter;
    const storeOnce = new StoreUseOnce(store);
    // One Redis may serve several deployments (and test runs): keys are namespaced by issuer.
    const redisPrefix = redisNamespace(config.issuer);
    const once: UseOnce = redis ? new RedisUseOnce(redis, storeOnce, () => metrics.redisFallbacks.inc(), `${redisPrefix}once:`) : storeOnce;
    let outbound: Outbound;
    try {
      outbound = createOutbound({ issuer: config.issuer, allow: config.outboundAllow });
    } catch (e) {
      if (e instanceof OutboundAllowError) throw new ConfigError(`invalid setting ${describeSetting('outboundAllow')}: ${e.message}`);
      throw e;
    }
    const issuerKeyOptions = {
      cacheTtlSeconds: config.jwksCacheTtl,
      refreshCooldownSeconds: config.jwksRefreshCooldown,
      fetchTimeoutMs: config.jwksFetchTimeout,
      maxBytes: config.jwksMaxBytes,
    };
    return {
      config,
      log,
      store,
      sealer,
      hasher,
      keyring,
      clients,
      clientKeys: new ClientKeys(config, outbound),
      outbound,
      trustedIssuers: new TrustedIssuers(store, outbound, issuerKeyOptions),
      feed,
      minter: new Minter(config.issuer, keyring, store, config.accessTokenTtl, opaqueTokens),
      opaqueTokens,
      revocations: new RevocationCache(store, config.maxAccessTokenTtl),
      limiter: redis ? new RedisFailureLimiter(redis, localLimiter, config.rateLimitFailures, config.rateLimitWindow, `${redisPrefix}fail:`) : localLimiter,
      metrics,
      redis,
      once,
      useOnce: (key, exp) => once.use(key, exp),
      maintenance: undefined,
      closers: redis ? [() => nodeLimits.close(), () => void redis.disconnect()] : [() => nodeLimits.close()],
    };
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
}

/**
 * Server only: ensures a signing key, loads the client cache, follows the change feed (clients, keys,
 * revocations of JWTs and of opaque tokens), loads the revoked-jti cache and starts the maintenance timer (key rotation schedule,
 * clean-up). The revocation cache is loaded after the feed has started, so no revocation falls between
 * the initial load and the first poll (an overlap is harmless).
 */
export async function startRuntime(rt: Runtime): Promise<void> {
  await rt.keyring.ensureKey();
  await rt.clients.loadAll();
  await rt.trustedIssuers.loadAll();
  rt.metrics.clients.set(rt.clients.size);
  rt.feed.on(async (events) => {
    // First, and synchronously: a revoked opaque token is gone from memory before anything below awaits.
    rt.opaqueTokens.onChanges(events);
    let keys = false;
    for (const e of events) {
      if (e.kind === 'client') await rt.clients.refresh(e.ref);
      else if (e.kind === 'key') keys = true;
      else if (e.kind === 'revocation') rt.revocations.noteRevoked(e.ref);
    }
    if (keys) await rt.keyring.load();
    rt.metrics.clients.set(rt.clients.size);
  });
  rt.feed.on(rt.trustedIssuers.onChanges);
  await rt.feed.start();
  await rt.revocations.load();
  const m = new Maintenance(rt, {
    rotationPeriodSeconds: rt.config.keyRotationPeriod,
    prePublishSeconds: rt.config.keyPrePublish,
    intervalMs: rt.config.maintenanceInterval * 1000,
  });
  m.start();
  rt.closers.push(() => m.stop());
  rt.maintenance = m;
}

export async function closeRuntime(rt: Runtime): Promise<void> {
  rt.feed.stop();
  for (const c of rt.closers.reverse()) await c();
  await rt.store.close();
}
