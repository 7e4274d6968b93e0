import type { Store } from '../store/store.js';
import type { ChangeEvent, OpaqueTokenRecord } from '../store/types.js';

export interface OpaqueTokenCacheOptions {
  /** Most records kept (least recently used ones go first). 0 turns the cache off: every lookup reads the store. */
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
 * - Bounded by count (`max`, least recently used first): memory stays flat whatever the issuance rate.
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
  readonly #entries = new Map<string, OpaqueTokenRecord>();
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
    this.#maxStalenessMs = opts.maxStalenessMs ?? 1000;
    this.#syncedAt = opts.syncedAt;
  }

  get size(): number {
    return this.#entries.size;
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
    const hit = this.#entries.get(tokenHash);
    if (hit !== undefined) {
      if (hit.exp <= nowSeconds) this.#entries.delete(tokenHash);
      else if (fresh) {
        // Least recently used goes first: a hit moves to the young end.
        this.#entries.delete(tokenHash);
        this.#entries.set(tokenHash, hit);
        return hit;
      }
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
    this.#entries.delete(tokenHash);
  }

  /** Change-feed handler: `opaque_revocation` events (ref = token hash) made on any node. */
  readonly onChanges = (events: readonly ChangeEvent[]): void => {
    for (const e of events) if (e.kind === 'opaque_revocation') this.forget(e.ref);
  };

  #put(rec: OpaqueTokenRecord): void {
    if (this.#max === 0) return;
    this.#entries.delete(rec.token_hash);
    this.#entries.set(rec.token_hash, rec);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
