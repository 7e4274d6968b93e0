import { hash, randomBytes } from 'node:crypto';
import { TwoGenerationMap } from '@latchkey/jose-core';
import type { CachedClient, ClientCache } from '../store/client-cache.js';

/** Most credential pairs remembered per authenticator (LRU beyond it). */
export const VERIFIED_CREDENTIALS_MAX = 10_000;

interface Entry {
  /** The exact cache object the credentials were verified against: any change to the client replaces it. */
  readonly client: CachedClient;
  /** Earliest expiry of the secrets that were live at verification (ms), Infinity without one. */
  readonly until: number;
}

/**
 * Verified-credential cache for client_secret_basic/post (issue #16, docs/decisions.md "Verified-credential
 * cache"): remembers that an exact credential string was verified for a client, so a repeat caller skips
 * decoding and the secret HMAC + comparisons.
 *
 * - The key is SHA-256 of a 256-bit random prefix made when the authenticator is built (never stored, never
 *   shared between processes) followed by the exact credential string — a keyed hash; the digests never leave
 *   the process, so length extension gives nothing. The cache holds no secret and nothing from which a secret
 *   could be recovered or tested offline. (One-shot `crypto.hash`: ~0.5 µs against HMAC's ~1.7 µs.)
 * - The value is the `CachedClient` object it was verified against. A hit counts only while the client
 *   cache still holds that very object: the change feed replaces it on any change to the client
 *   (secret rotated or revoked, client disabled, method changed, deleted), so the entry dies with it,
 *   within the same propagation bound as the client cache itself. A hit also ends when the earliest-
 *   expiring secret that was live at verification expires (a rotation grace running out).
 * - Only successes are remembered, so a wrong secret never hits: it takes today's full path.
 * - Bounded: at most {@link VERIFIED_CREDENTIALS_MAX} entries in two generations (`TwoGenerationMap`); an entry used
 *   while old moves back to the young one, so roughly the least recently used half is dropped when it fills.
 */
export class VerifiedCredentials {
  readonly #prefix = randomBytes(32).toString('base64url');
  readonly #entries: TwoGenerationMap<string, Entry>;
  hits = 0;

  constructor(
    private readonly clients: Pick<ClientCache, 'get'>,
    max = VERIFIED_CREDENTIALS_MAX,
  ) {
    this.#entries = new TwoGenerationMap(Math.max(1, Math.ceil(max / 2)));
  }

  /** The lookup key of a credential string (a Basic header value, or an encoded id/secret pair). */
  keyOf(credential: string): string {
    return hash('sha256', this.#prefix + credential, 'base64');
  }

  /** The client these exact credentials were verified for, if that is still current. */
  get(key: string, now: number): CachedClient | undefined {
    const e = this.#entries.touch(key);
    if (e === undefined) return undefined;
    if (e.until <= now || this.clients.get(e.client.record.client_id) !== e.client) {
      this.#entries.delete(key);
      return undefined;
    }
    this.hits++;
    return e.client;
  }

  /** Remembers a successful verification against `client` (its secrets as they were then). */
  remember(key: string, client: CachedClient, now: number): void {
    let until = Infinity;
    for (const s of client.secrets) if (s.expires_at != null && s.expires_at > now && s.expires_at < until) until = s.expires_at;
    this.#entries.set(key, { client, until });
  }

  get size(): number {
    return this.#entries.size;
  }
}
