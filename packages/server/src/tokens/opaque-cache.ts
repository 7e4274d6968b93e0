import { TwoGenerationMap } from '@latchkey/jose-core';
import type { Store } from '../store/store.js';
import type { ChangeEvent, OpaqueTokenRecord } from '../store/types.js';

export interface OpaqueTokenCacheOptions {
  /** Most records kept (two generations of `max / 2`, see below). 0 turns the cache off: every lookup reads the store. */
  readonly max?: number;
  /**
   * Start (epoch ms) of the last change-feed poll that was applied in full (ChangeFeed.syncedAt): the cache answers
   * only while that is at most `maxStalenessMs` old, so a revocation made on another node is honoured within that
   * bound even when this node cannot read the feed (it then reads the store, and answers 503 if that is down too).
   */
  readonly syncedAt: () => number;
  /** SPEC §4: a change takes effect on every node within 1 s. */
  readonly maxStalenessMs?: number;
}

export const OPAQUE_CACHE_MAX = 20_000;

/**
 * Opaque access tokens (RFC 7662 reference tokens) in memory, keyed by the token's SHA-256 hash (never the token),
 * so introspecting a token this node issued or has already looked up does not touch the store (issue #16).
 *
 * - Filled when this node issues an opaque token (after its row is durable) and on store hits. Unknown tokens are
 *   never cached (no negative entries): they always take the store path.
 * - An entry answers only until the token's `exp`; expired ones are dropped when met.
 * - Bounded by count: two generations of at most `max / 2` records each. New records (and records found in the old
 *   generation) go into the young one; when it is full it becomes the old one and the former old one is dropped
 *   whole. A record used at least once per `max / 2` insertions stays; memory stays flat whatever the issuance rate.
 *   No Map iteration and no per-entry eviction: evicting the oldest key of one big Map (`keys().next()`) skips
 *   every deleted slot before it and cost ~12 µs per insert at 20,000 entries (docs/performance.md).
 * - Revoked here (`revoke`): deleted from the store, then forgotten at once. Revoked on another node: the store
 *   writes an `opaque_revocation` change (ref = the hash) in the delete's transaction and this node's feed handler
 *   calls `onChanges`, within the poll interval. While the feed is behind by more than `maxStalenessMs`, the cache
 *   is bypassed.
 * - A store read that was in flight while any entry was forgotten does not fill the cache (`#epoch`): it may have
 *   read the row just before its deletion and would otherwise bring a revoked token back.
 *
 * What it does not check: the client's status and the caller's rights (introspection does that per request, from
 * the client cache), JWT revocations (tokens/revocations.ts).
 */
export class OpaqueTokenCache {
  /** Two generations of `max / 2` (rounded up) records; undefined when the cache is off (max 0). */
  readonly #records: TwoGenerationMap<string, OpaqueTokenRecord> | undefined;
  readonly #max: number;
  readonly #maxStalenessMs: number;
  readonly #syncedAt: () => number;
  /** Bumped by every forget: a store read that started in an older epoch does not fill. */
  #epoch = 0;

  constructor(
    private readonly store: Pick<Store, 'getOpaqueToken' | 'deleteOpaqueToken'>,
    opts: OpaqueTokenCacheOptions,
  ) {
    this.#max = Math.max(0, Math.floor(opts.max ?? OPAQUE_CACHE_MAX));
    this.#records = this.#max > 0 ? new TwoGenerationMap(Math.ceil(this.#max / 2)) : undefined;
    this.#maxStalenessMs = opts.maxStalenessMs ?? 1000;
    this.#syncedAt = opts.syncedAt;
  }

  get size(): number {
    return this.#records?.size ?? 0;
  }

  get max(): number {
    return this.#max;
  }

  /** A token this node has just issued (its row is durable). */
  remember(rec: OpaqueTokenRecord): void {
    this.#put(rec);
  }

  /**
   * The live record of the token with this hash, or undefined (unknown, deleted, or `exp` ≤ now). From memory when
   * the feed is fresh, else from the store (StoreUnavailableError propagates).
   */
  async lookup(tokenHash: string, nowMs = Date.now()): Promise<OpaqueTokenRecord | undefined> {
    const nowSeconds = Math.floor(nowMs / 1000);
    const fresh = nowMs - this.#syncedAt() <= this.#maxStalenessMs;
    const hit = this.#records?.get(tokenHash);
    // Used while old: moved to the young generation (touch), so a record in use is never dropped.
    if (hit !== undefined && hit.exp > nowSeconds && fresh) this.#records!.touch(tokenHash);
    if (hit !== undefined) {
      if (hit.exp <= nowSeconds) this.#delete(tokenHash);
      else if (fresh) return hit;
    }
    const epoch = this.#epoch;
    const rec = await this.store.getOpaqueToken(tokenHash);
    if (!rec || rec.exp <= nowSeconds) return undefined;
    if (epoch === this.#epoch) this.#put(rec);
    return rec;
  }

  /** Revokes the token with this hash: deleted from the store (which tells the other nodes), forgotten here at once. */
  async revoke(tokenHash: string): Promise<boolean> {
    this.forget(tokenHash);
    try {
      return await this.store.deleteOpaqueToken(tokenHash);
    } finally {
      // Again after the delete: a lookup that read the row before it cannot fill (epoch), and nothing else can.
      this.forget(tokenHash);
    }
  }

  /** Drops the entry (a revocation); also keeps any store read in flight from filling the cache. */
  forget(tokenHash: string): void {
    this.#epoch++;
    this.#delete(tokenHash);
  }

  /** Change-feed handler: `opaque_revocation` events (ref = token hash) made on any node. */
  readonly onChanges = (events: readonly ChangeEvent[]): void => {
    for (const e of events) if (e.kind === 'opaque_revocation') this.forget(e.ref);
  };

  #delete(tokenHash: string): void {
    this.#records?.delete(tokenHash);
  }

  /** Into the young generation (a copy still in the old one is replaced: one copy per hash). */
  #put(rec: OpaqueTokenRecord): void {
    this.#records?.set(rec.token_hash, rec);
  }
}
