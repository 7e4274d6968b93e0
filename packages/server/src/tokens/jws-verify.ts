import { KeyObject, type webcrypto } from 'node:crypto';
import { createVerifier, isAsymmetricAlg, PRIVATE_KEY_JWT_ALGS, type AsymmetricAlg, type Verifier } from '@latchkey/jose-core';

/**
 * Synchronous JWS signature verification with node:crypto for the asymmetric algorithms — the
 * counterpart of keys/jws.ts on the client-assertion hot path. jose verifies through WebCrypto, whose
 * jobs run on the libuv thread pool: measured ~150 µs of CPU per ES256 client assertion against ~70 µs
 * here (docs/performance.md). Only the signature is checked here; the caller has already required a
 * canonical compact JWS and checks every claim itself. Algorithms not listed return undefined and the
 * caller falls back to jose. Algorithm parameters and verification come from `@latchkey/jose-core`
 * (its private_key_jwt table; exact signature lengths; a key of the wrong type never verifies).
 */
const handled = (alg: string): alg is AsymmetricAlg => isAsymmetricAlg(alg) && PRIVATE_KEY_JWT_ALGS.includes(alg);

const keyObjects = new WeakMap<object, KeyObject>();
/** Verifiers per key and alg, built once (the key objects are cached by their owners). */
const verifiers = new WeakMap<KeyObject, Map<string, Verifier>>();

function verifierFor(key: KeyObject, alg: AsymmetricAlg): Verifier {
  let byAlg = verifiers.get(key);
  if (!byAlg) verifiers.set(key, (byAlg = new Map<string, Verifier>()));
  let v = byAlg.get(alg);
  if (!v) byAlg.set(alg, (v = createVerifier(key, alg)));
  return v;
}

function asKeyObject(key: webcrypto.CryptoKey | KeyObject): KeyObject {
  if (key instanceof KeyObject) return key;
  let k = keyObjects.get(key);
  if (!k) keyObjects.set(key, (k = KeyObject.from(key)));
  return k;
}

/** Whether this module verifies `alg` with this kind of key (asymmetric algorithms, public keys). */
export function handlesJws(alg: string, key: webcrypto.CryptoKey | KeyObject | Uint8Array): boolean {
  return handled(alg) && !(key instanceof Uint8Array) && asKeyObject(key).type === 'public';
}

/** true/false for a supported asymmetric `alg` and public key; undefined when this module does not handle it. */
export function verifyJwsSignature(jws: string, alg: string, key: webcrypto.CryptoKey | KeyObject | Uint8Array): boolean | undefined {
  if (!handled(alg) || key instanceof Uint8Array) return undefined;
  const ko = asKeyObject(key);
  if (ko.type !== 'public') return undefined;
  const dot = jws.lastIndexOf('.');
  // Key and algorithm that do not fit (e.g. an RSA key for ES256) never verify.
  return verifierFor(ko, alg).verify(jws.slice(0, dot), Buffer.from(jws.slice(dot + 1), 'base64url'));
}
