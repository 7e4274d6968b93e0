import { createVerifier, importPublicJwk, jwkAllows, type JwsAlgorithm, type PublicJwk, type Verifier } from './algorithms.js';
import { ResourceError } from './errors.js';
import { fetchJson, isObject, type FetchLike } from './http-json.js';

export interface RemoteJwksOptions {
  /** Algorithms the verifier accepts; keys usable for none of them are ignored. */
  algorithms: readonly JwsAlgorithm[];
  /** Minimum time between two fetches, whatever triggers them (unknown `kid`, expiry, failure). */
  cooldownMs: number;
  /** After this age the set is refreshed in the background; the old keys keep working meanwhile. */
  maxAgeMs: number;
  timeoutMs: number;
  fetch: FetchLike;
  now: () => number;
  /** Called when a background refresh fails (the set in hand stays in use). */
  onRefreshError?: (err: Error) => void;
}

export class JwksUnavailableError extends Error {}

/**
 * A remote JWK Set (RFC 7517 §5) held as node:crypto verifiers, one per
 * (`kid`, `alg`). In the spirit of jose's `createRemoteJWKSet`: refresh is
 * single-flight, an unknown `kid` triggers a refresh at most once per cooldown
 * (so forged tokens with random `kid`s cannot flood the issuer), and a stale
 * set is refreshed in the background rather than blocking requests.
 */
export class RemoteJwks {
  readonly #resolveUri: () => Promise<string>;
  readonly #options: RemoteJwksOptions;
  #byKid = new Map<string, Verifier[]>();
  #all: Verifier[] = [];
  #loadedAt = Number.NEGATIVE_INFINITY;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  #fetches = 0;

  constructor(resolveUri: () => Promise<string>, options: RemoteJwksOptions) {
    this.#resolveUri = resolveUri;
    this.#options = options;
  }

  /** Number of JWKS fetches started so far (successful or not). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /** Whether the current set still publishes `kid` (used to drop cached verdicts for withdrawn keys). */
  hasKid(kid: string): boolean {
    return this.#byKid.has(kid);
  }

  /**
   * Returns the candidate verifiers for a JWS header's `kid` and `alg`: one
   * for a known `kid`, possibly several when the token has no `kid`. An empty
   * list means no key matches, even after the refresh the cooldown allowed.
   */
  async candidates(kid: string | undefined, alg: JwsAlgorithm): Promise<readonly Verifier[]> {
    const now = this.#options.now();
    if (this.#loadedAt === Number.NEGATIVE_INFINITY) {
      await this.#refresh(now, true);
    } else if (now - this.#loadedAt >= this.#options.maxAgeMs && this.#mayFetch(now)) {
      this.#refresh(now, false).catch((err: Error) => this.#options.onRefreshError?.(err));
    }
    let found = this.#lookup(kid, alg);
    if (found.length === 0 && this.#mayFetch(this.#options.now())) {
      // Unknown kid: perhaps the issuer rotated keys. At most one fetch per cooldown (RFC 8725 §3.10 spirit: do not let the token steer I/O).
      await this.#refresh(this.#options.now(), false).catch((err: Error) => this.#options.onRefreshError?.(err));
      found = this.#lookup(kid, alg);
    }
    return found;
  }

  #lookup(kid: string | undefined, alg: JwsAlgorithm): Verifier[] {
    const list = kid === undefined ? this.#all : this.#byKid.get(kid);
    if (list === undefined) return [];
    if (list.length === 1 && list[0]!.alg === alg) return list as Verifier[];
    return list.filter((v) => v.alg === alg);
  }

  #mayFetch(now: number): boolean {
    return this.#pending !== undefined || now - this.#lastAttemptAt >= this.#options.cooldownMs;
  }

  /** Single-flight refresh. `required`: the caller has no keys at all and must fail if this fails. */
  #refresh(now: number, required: boolean): Promise<void> {
    if (this.#pending) return this.#pending;
    if (now - this.#lastAttemptAt < this.#options.cooldownMs) {
      return required ? Promise.reject(new JwksUnavailableError('JWKS never loaded and the last attempt failed within the cooldown')) : Promise.resolve();
    }
    this.#lastAttemptAt = now;
    this.#fetches++;
    this.#pending = this.#load().finally(() => {
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
    for (const jwk of body.keys as unknown[]) {
      if (!isObject(jwk)) continue;
      const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
      const usable = this.#options.algorithms.filter((alg) => jwkAllows(jwk as PublicJwk, alg));
      if (usable.length === 0) continue;
      let key;
      try {
        key = importPublicJwk(jwk as PublicJwk);
      } catch {
        continue; // RFC 7517 §5: "Implementations SHOULD ignore JWKs within a JWK Set that use kty values that are not understood", and so for unusable ones.
      }
      for (const alg of usable) {
        const verifier = createVerifier(key, alg, kid);
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
    this.#loadedAt = this.#options.now();
  }
}
