import type { KeyObject } from 'node:crypto';
import {
  createVerifier as coreVerifier,
  isAsymmetricAlg,
  jwkFitsAlg,
  MIN_RSA_BITS as CORE_MIN_RSA_BITS,
  RESOURCE_ALGS,
  validatePublicJwk,
  type AsymmetricAlg,
} from '@latchkey/jose-core';

/**
 * The asymmetric JWS algorithms this library can verify — `@latchkey/jose-core`'s resource table
 * (RFC 7518 §3, RFC 8037, RFC 9864 `Ed25519`). `none` and the HMAC family are absent on purpose:
 * RFC 8725 §3.1 / §3.2 — a resource server holding only public keys must never accept a MAC, and
 * "none" is never acceptable for an access token. `EdDSA` means Ed25519 only (Ed448 is refused).
 */
export const SUPPORTED_ALGORITHMS: readonly AsymmetricAlg[] = RESOURCE_ALGS;

export type JwsAlgorithm = AsymmetricAlg;

export function isSupportedAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return isAsymmetricAlg(alg) && RESOURCE_ALGS.includes(alg);
}

/** RFC 7518 §3.3 / §3.5: "A key of size 2048 bits or larger MUST be used". */
export const MIN_RSA_BITS = CORE_MIN_RSA_BITS;

/** A public key ready to verify one algorithm with node:crypto (much faster than WebCrypto for small inputs). */
export interface Verifier {
  readonly alg: JwsAlgorithm;
  readonly kid: string | undefined;
  verify(signingInput: Buffer, signature: Buffer): boolean;
}

/** The subset of JWK members we read (RFC 7517 §4, RFC 7518 §6). */
export interface PublicJwk {
  kty?: unknown; crv?: unknown; alg?: unknown; use?: unknown; key_ops?: unknown; kid?: unknown;
  x?: unknown; y?: unknown; n?: unknown; e?: unknown; d?: unknown;
  [k: string]: unknown;
}

/** Whether the JWK may be used to verify `alg` signatures (RFC 7517 §4.2-4.4, RFC 7518 §6). */
export function jwkAllows(jwk: PublicJwk, alg: JwsAlgorithm): boolean {
  return jwkFitsAlg(jwk, alg);
}

/**
 * Imports a public JWK as a node:crypto KeyObject through the core's one JWK validation (private
 * members refused, RSA 2048–8192 bits with e = 65537, EC points on their curve, OKP Ed25519 only).
 * Throws on anything unusable.
 */
export function importPublicJwk(jwk: PublicJwk): KeyObject {
  return validatePublicJwk(jwk, 'verification').key;
}

/** Builds the node:crypto verification closure for one key and one algorithm. */
export function createVerifier(key: KeyObject, alg: JwsAlgorithm, kid: string | undefined): Verifier {
  const v = coreVerifier(key, alg);
  return { alg, kid, verify: (data, sig) => v.verify(data, sig) };
}
