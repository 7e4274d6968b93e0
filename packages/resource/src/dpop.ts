import { createDpopVerifier, JoseError, TwoGenerationMap, jwkThumbprint as coreThumbprint, normalizeHtu as coreNormalizeHtu, type DpopVerifier } from '@latchkey/jose-core';
import type { PublicJwk } from './algorithms.js';
import { ResourceError } from './errors.js';

/**
 * Remembers DPoP proof `jti`s for the replay window (RFC 9449 §11.1). Implement
 * it over Redis or similar when several API instances share traffic.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAt` (ms since epoch). Returns `true` if it was
   * not already present (first use), `false` if it is a replay.
   */
  checkAndStore(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * In-process replay store, in two generations of `maxEntries` (`TwoGenerationMap`): it remembers at least the last
 * `maxEntries` proofs (so size it above requests per second × replay window) and holds at most twice that; an
 * insert costs the same when full. One process only.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen: TwoGenerationMap<string, number>;
  readonly #clock: () => number;
  constructor(maxEntries = 100_000, clock: () => number = Date.now) {
    this.#seen = new TwoGenerationMap(maxEntries);
    this.#clock = clock;
  }
  checkAndStore(key: string, expiresAt: number, now = this.#clock()): boolean {
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    this.#seen.set(key, expiresAt);
    return true;
  }
  get size(): number {
    return this.#seen.size;
  }
}

export interface DpopCheckOptions {
  algorithms: ReadonlySet<string>;
  /** Seconds a proof stays acceptable after its `iat` (RFC 9449 §4.3 step 11 "acceptable window"). */
  maxAge: number;
  clockTolerance: number;
  replayStore: ReplayStore;
}

export interface DpopRequestFacts {
  proof: string;
  method: string;
  /** The request URI without query and fragment, as the resource server sees it. */
  htu: string;
  accessToken: string;
  /** The token's `cnf.jkt` (RFC 9449 §6). */
  jkt: string;
  now: number;
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace (`@latchkey/jose-core`). */
export function jwkThumbprint(jwk: PublicJwk): string {
  try {
    return coreThumbprint(jwk);
  } catch (e) {
    throw new TypeError((e as Error).message);
  }
}

/** Normalises an absolute URI for `htu` comparison: RFC 9449 §4.3 step 9 compares "without query and fragment parts", after RFC 3986 §6.2.2/§6.2.3 normalisation. */
export function normalizeHtu(uri: string): string | undefined {
  return coreNormalizeHtu(uri);
}

/** One core verifier (with its proof-key cache) per options object: options are built once per ResourceServer. */
const verifiers = new WeakMap<DpopCheckOptions, DpopVerifier>();

function verifierFor(options: DpopCheckOptions): DpopVerifier {
  let v = verifiers.get(options);
  if (v === undefined) {
    v = createDpopVerifier({ algorithms: options.algorithms, maxAge: options.maxAge, clockTolerance: options.clockTolerance });
    verifiers.set(options, v);
  }
  return v;
}

/**
 * Verifies a DPoP proof for a protected-resource request: RFC 9449 §4.3 steps 2–12 and §7.1 (`ath`,
 * key binding), through `@latchkey/jose-core`'s one DPoP verifier (the server's token endpoint uses the
 * same). Throws {@link ResourceError}: `ERR_DPOP_KEY_MISMATCH`, `ERR_DPOP_PROOF_REPLAYED`, else
 * `ERR_DPOP_PROOF_INVALID` with the core's code in the detail. Does not support server-provided nonces
 * (§8, §9): a proof carrying `nonce` is judged on the other checks only.
 */
export async function verifyDpopProof(facts: DpopRequestFacts, options: DpopCheckOptions): Promise<void> {
  try {
    await verifierFor(options).verify({
      proof: facts.proof,
      method: facts.method,
      url: facts.htu,
      accessToken: facts.accessToken,
      jkt: facts.jkt,
      now: facts.now,
      // §11.1: a proof is single-use within its window.
      replay: (jkt, jti, expiresAt) => options.replayStore.checkAndStore(`${jkt}:${jti}`, expiresAt * 1000),
    });
  } catch (e) {
    if (!(e instanceof JoseError)) throw e;
    if (e.code === 'ERR_DPOP_KEY_MISMATCH') throw new ResourceError('ERR_DPOP_KEY_MISMATCH', e.message);
    if (e.code === 'ERR_DPOP_REPLAYED') throw new ResourceError('ERR_DPOP_PROOF_REPLAYED', e.message);
    throw new ResourceError('ERR_DPOP_PROOF_INVALID', `${e.code}: ${e.message}`);
  }
}
