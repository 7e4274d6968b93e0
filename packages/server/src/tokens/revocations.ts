import type { Store } from '../store/store.js';

/**
 * Revoked JWT ids (RFC 7009 §2), in memory, so introspection of a JWT never waits on the database.
 *
 * Fed three ways: `load()` reads every revocation whose token has not expired yet; `add()` records a
 * revocation made on this node at once; `noteRevoked()` applies `revocation` events from the change
 * feed (written by other nodes), so every node learns of a revocation within the feed's poll interval
 * (250 ms by default). A change event carries only the jti, not the token's `exp`, so such entries are
 * kept until the longest possible token lifetime has passed — an upper bound, never too short.
 *
 * Does not check signatures or ownership: callers record only ids of tokens they verified.
 */
export class RevocationCache {
  /** jti → exp (epoch seconds) after which the entry may be forgotten: the token is dead anyway. */
  #revoked = new Map<string, number>();
  #nextSweep = 0;

  constructor(
    private readonly store: Store,
    /** Upper bound of any token lifetime in seconds (config maxAccessTokenTtl). */
    private readonly maxTtlSeconds: number,
  ) {}

  /** Loads every revocation of a token that has not expired yet. */
  async load(nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
    const rows = await this.store.revokedJtisSince(nowSeconds);
    for (const r of rows) this.#set(r.jti, r.exp);
  }

  /** A revocation this node has just stored. */
  add(jti: string, exp: number): void {
    this.#set(jti, exp);
  }

  /** A `revocation` change event: the jti is revoked; its token expires at the latest after the longest lifetime (+60 s skew). */
  noteRevoked(jti: string, nowSeconds = Math.floor(Date.now() / 1000)): void {
    if (!this.#revoked.has(jti)) this.#set(jti, nowSeconds + this.maxTtlSeconds + 60);
  }

  has(jti: string): boolean {
    return this.#revoked.has(jti);
  }

  get size(): number {
    return this.#revoked.size;
  }

  /** Forgets entries whose token has expired (an expired token is inactive whatever this cache says). */
  sweep(nowSeconds = Math.floor(Date.now() / 1000)): number {
    let n = 0;
    for (const [jti, exp] of this.#revoked) {
      if (exp < nowSeconds) {
        this.#revoked.delete(jti);
        n++;
      }
    }
    return n;
  }

  #set(jti: string, exp: number): void {
    const prev = this.#revoked.get(jti);
    // Keep the later bound: an exact exp from the store may arrive after an estimate, or the reverse.
    if (prev === undefined || exp > prev) this.#revoked.set(jti, exp);
    // Amortised clean-up so an idle node's cache cannot grow without bound.
    const now = Math.floor(Date.now() / 1000);
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + 60;
      this.sweep(now);
    }
  }
}
