import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { verifyJwsSignature } from '../tokens/jws-verify.js';

const DUMMY_ALGS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/** The dummy key pair type that costs what a typical registered key of `alg` costs to verify with. */
function dummyKeyFor(alg: string): KeyObject | undefined {
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }).publicKey;
  const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
  if (curve) return generateKeyPairSync('ec', { namedCurve: curve }).publicKey;
  if (alg === 'EdDSA' || alg === 'Ed25519') return generateKeyPairSync('ed25519').publicKey;
  return undefined;
}

/**
 * Equal work for unknown and known client ids on the assertion path (issue #14 Why 7: an existing
 * private_key_jwt client took +165 µs, so client ids could be enumerated by timing). For an assertion
 * naming an unknown client, {@link verify} runs the same signature verification against a dummy public
 * key of the assertion's `alg` (RSA 2048, P-256/384/521, Ed25519), which always fails. Keys are made on
 * first use per alg and kept by this instance (one per authenticator, nothing module-global).
 * `runs` counts the dummy verifications (tests check the unknown path did the work).
 */
export class DummyAssertionVerifier {
  readonly #keys = new Map<string, KeyObject | undefined>();
  runs = 0;

  /** Verifies `jws` against the dummy key of `alg` (false); does nothing for algs without one. */
  verify(jws: string, alg: string): void {
    if (!DUMMY_ALGS.has(alg)) return;
    let key = this.#keys.get(alg);
    if (!this.#keys.has(alg)) {
      key = dummyKeyFor(alg);
      // Only DUMMY_ALGS: at most a handful of entries.
      this.#keys.set(alg, key);
    }
    if (key === undefined) return;
    this.runs++;
    try {
      verifyJwsSignature(jws, alg, key);
    } catch {
      // A malformed signature costs what it costs on the known path too: nothing to report.
    }
  }
}
