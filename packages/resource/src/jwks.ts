import { createHash } from 'node:crypto';
import { createVerifier, importPublicJwk, jwkAllows, type JwsAlgorithm, type PublicJwk, type Verifier } from './algorithms.js';
import { ResourceError } from './errors.js';
import { fetchJson, isObject, type FetchLike } from './http-json.js';

export interface RemoteJwksOptions {
  /** Algorithms the verifier accepts; keys usable for none of them are ignored. */
  algorithms: readonly JwsAlgorithm[];
  /** Minimum time between two fetches triggered by unknown `kid`s, and the back-off after a failed fetch. */
  cooldownMs: number;
  /**
   * After this age the next verification (cached or not) starts a refresh. Until `maxAgeMs + graceMs`
   * callers keep using the keys in hand meanwhile (stale-while-revalidate); after that they wait for it.
   */
  maxAgeMs: number;
  /** See `maxAgeMs`. */
  graceMs: number;
  timeoutMs: number;
  fetch: FetchLike;
  now: () => number;
  /** Called when a background refresh fails (the set in hand stays in use). */
  onRefreshError?: (err: Error) => void;
}

export class JwksUnavailableError extends Error {}

const NOOP = (): void => {};

/**
 * A remote JWK Set (RFC 7517 §5) held as node:crypto verifiers, one per
 * (`kid`, `alg`). In the spirit of jose's `createRemoteJWKSet`, with separate budgets:
 *
 * - an unknown `kid` triggers at most one fetch per cooldown, so forged tokens with
 *   random `kid`s cannot make us flood the issuer;
 * - the scheduled refresh (every `maxAge`, in the background, old keys keep working)
 *   does not spend that budget, so a key rotation right after it is still picked up
 *   on the new key's first token;
 * - after a failed fetch nothing is fetched for a cooldown;
 * - every fetch is single-flight, and requests with an unknown `kid` wait for one in flight;
 * - the age of the set is checked on every verification, cached ones included ({@link RemoteJwks.revalidate}):
 *   past `maxAge` a refresh starts in the background, past `maxAge + grace` callers wait for it, so a key
 *   withdrawn by the issuer stops validating within `maxAge + grace` (unless the refresh fails: then the
 *   keys in hand stay in use, availability first, and the failure is reported).
 */
export class RemoteJwks {
  readonly #resolveUri: () => Promise<string>;
  readonly #options: RemoteJwksOptions;
  #byKid = new Map<string, Verifier[]>();
  #all: Verifier[] = [];
  /** Identity of the published key behind each verifier: `kid` (or none) + SHA-256 of the SPKI. */
  #keyRefs = new WeakMap<Verifier, string>();
  #published = new Set<string>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #lastFailureAt = Number.NEGATIVE_INFINITY;
  #lastKidRefreshAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  #fetches = 0;
  #generation = 0;

  constructor(resolveUri: () => Promise<string>, options: RemoteJwksOptions) {
    this.#resolveUri = resolveUri;
    this.#options = options;
  }

  /** Number of key sets loaded so far. */
  get generation(): number {
    return this.#generation;
  }

  /** Number of JWKS fetches started so far (successful or not). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /**
   * The identity of the key behind a verifier of the current set (its `kid` and public key), to
   * remember with a cached verdict and check with {@link RemoteJwks.publishes}.
   */
  keyRef(verifier: Verifier): string | undefined {
    return this.#keyRefs.get(verifier);
  }

  /** Whether the current set still publishes the key `ref` (from {@link RemoteJwks.keyRef}) names. */
  publishes(ref: string): boolean {
    return this.#published.has(ref);
  }

  /**
   * Honours the set's age; called on every verification, cached ones included. Returns undefined
   * when the caller may go on with the keys in hand: the set is younger than `maxAge`, or younger
   * than `maxAge + grace` (a refresh is then started in the background), or it was never loaded
   * ({@link RemoteJwks.candidates} loads it), or the last fetch failed within the cooldown (the keys in
   * hand stay in use during an outage). Otherwise returns a promise that settles when the one
   * single-flight refresh does (it never rejects: a failure keeps the keys in hand and is reported).
   */
  revalidate(now: number): Promise<void> | undefined {
    const age = now - this.#loadedAt;
    const { maxAgeMs, graceMs, cooldownMs } = this.#options;
    if (age < maxAgeMs || this.#loadedAt === Number.NEGATIVE_INFINITY) return undefined;
    let pending = this.#pending;
    if (pending === undefined) {
      if (now - this.#lastFailureAt < cooldownMs) return undefined;
      pending = this.#refresh();
      pending.catch((err: Error) => this.#options.onRefreshError?.(err));
    }
    if (age < maxAgeMs + graceMs) return undefined;
    return pending.then(NOOP, NOOP);
  }

  /**
   * Returns the candidate verifiers for a JWS header's `kid` and `alg`: one
   * for a known `kid`, possibly several when the token has no `kid`. An empty
   * list means no key matches, even after the refresh the cooldown allowed. `seen` is the
   * {@link RemoteJwks.generation} the caller started with: when a set was loaded since, an unknown
   * `kid` does not fetch it again (that set is as fresh as this request can ask for).
   */
  async candidates(kid: string | undefined, alg: JwsAlgorithm, seen = this.#generation): Promise<readonly Verifier[]> {
    const { cooldownMs } = this.#options;
    const now = this.#options.now();
    if (this.#loadedAt === Number.NEGATIVE_INFINITY) {
      if (this.#pending === undefined && now - this.#lastFailureAt < cooldownMs) {
        throw new JwksUnavailableError('JWKS never loaded and the last attempt failed within the cooldown');
      }
      await this.#refresh();
    } else {
      const wait = this.revalidate(now);
      if (wait !== undefined) await wait;
    }
    let found = this.#lookup(kid, alg);
    if (found.length > 0) return found;
    if (this.#pending !== undefined) {
      // A fetch is already running (scheduled or another request's): it may bring the key, and costs nothing extra.
      await this.#pending.catch(() => {});
      found = this.#lookup(kid, alg);
    } else if (this.#generation === seen && now - this.#lastKidRefreshAt >= cooldownMs && now - this.#lastFailureAt >= cooldownMs) {
      // Unknown kid: perhaps the issuer rotated keys. The token only gets to ask once per cooldown
      // (RFC 8725 §3.10 spirit: do not let received tokens steer our I/O).
      this.#lastKidRefreshAt = now;
      await this.#refresh().catch((err: Error) => this.#options.onRefreshError?.(err));
      found = this.#lookup(kid, alg);
    }
    return found;
  }

  #lookup(kid: string | undefined, alg: JwsAlgorithm): Verifier[] {
    const list = kid === undefined ? this.#all : this.#byKid.get(kid);
    if (list === undefined) return [];
    if (list.length === 1 && list[0]!.alg === alg) return list;
    return list.filter((v) => v.alg === alg);
  }

  /** Single-flight fetch. */
  #refresh(): Promise<void> {
    if (this.#pending) return this.#pending;
    this.#fetches++;
    this.#pending = this.#load()
      .catch((err: unknown) => {
        this.#lastFailureAt = this.#options.now();
        throw err;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  async #load(): Promise<void> {
    let uri: string;
    try {
      uri = await this.#resolveUri();
    } catch (err) {
      if (err instanceof ResourceError) throw err; // e.g. ERR_DISCOVERY_FAILED, kept as is
      throw new JwksUnavailableError(`cannot resolve jwks_uri: ${(err as Error).message}`);
    }
    let body: unknown;
    try {
      const res = await fetchJson(uri, { fetch: this.#options.fetch, timeoutMs: this.#options.timeoutMs, maxBytes: 512 * 1024 });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      body = res.body;
    } catch (err) {
      throw new JwksUnavailableError(`JWKS fetch failed: ${(err as Error).message}`);
    }
    // RFC 7517 §5: a JWK Set is an object whose "keys" member is an array of JWKs.
    if (!isObject(body) || !Array.isArray(body.keys)) throw new JwksUnavailableError('response is not a JWK Set');
    const byKid = new Map<string, Verifier[]>();
    const all: Verifier[] = [];
    const keyRefs = new WeakMap<Verifier, string>();
    const published = new Set<string>();
    for (const jwk of body.keys as unknown[]) {
      if (!isObject(jwk)) continue;
      const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
      const usable = this.#options.algorithms.filter((alg) => jwkAllows(jwk as PublicJwk, alg));
      if (usable.length === 0) continue;
      let key;
      try {
        key = importPublicJwk(jwk);
      } catch {
        continue; // RFC 7517 §5: "Implementations SHOULD ignore JWKs within a JWK Set that use kty values that are not understood", and so for unusable ones.
      }
      const ref = `${kid ?? ''}\n${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64url')}`;
      published.add(ref);
      for (const alg of usable) {
        const verifier = createVerifier(key, alg, kid);
        keyRefs.set(verifier, ref);
        all.push(verifier);
        if (kid !== undefined) {
          const list = byKid.get(kid);
          if (list) list.push(verifier);
          else byKid.set(kid, [verifier]);
        }
      }
    }
    this.#byKid = byKid;
    this.#all = all;
    this.#keyRefs = keyRefs;
    this.#published = published;
    this.#generation++;
    this.#loadedAt = this.#options.now();
  }
}
