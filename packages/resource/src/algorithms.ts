import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/**
 * The asymmetric JWS algorithms this library can verify (RFC 7518 §3, RFC 8037,
 * RFC 9864 `Ed25519`). `none` and the HMAC family are absent on purpose:
 * RFC 8725 §3.1 / §3.2 — a resource server holding only public keys must never
 * accept a MAC, and "none" is never acceptable for an access token.
 */
export const SUPPORTED_ALGORITHMS = [
  'ES256', 'ES384', 'ES512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'EdDSA', 'Ed25519',
] as const;

export type JwsAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const SUPPORTED = new Set<string>(SUPPORTED_ALGORITHMS);
export function isSupportedAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === 'string' && SUPPORTED.has(alg);
}

interface AlgorithmProfile {
  kty: 'EC' | 'RSA' | 'OKP';
  /** Required `crv` for EC/OKP keys. */
  crv?: string;
  /** node:crypto digest name, or null for Ed25519. */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** RFC 7518 §3.4: ECDSA signatures are R || S, each exactly the curve's coordinate size. */
  signatureLength?: number;
  pss?: boolean;
}

const PROFILES: Record<JwsAlgorithm, AlgorithmProfile> = {
  ES256: { kty: 'EC', crv: 'P-256', hash: 'sha256', signatureLength: 64 },
  ES384: { kty: 'EC', crv: 'P-384', hash: 'sha384', signatureLength: 96 },
  ES512: { kty: 'EC', crv: 'P-521', hash: 'sha512', signatureLength: 132 },
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
  PS384: { kty: 'RSA', hash: 'sha384', pss: true },
  PS512: { kty: 'RSA', hash: 'sha512', pss: true },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', hash: null },
  Ed25519: { kty: 'OKP', crv: 'Ed25519', hash: null },
};

const HASH_LENGTH = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** RFC 7518 §3.3 / §3.5: "A key of size 2048 bits or larger MUST be used". */
export const MIN_RSA_BITS = 2048;

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
  const p = PROFILES[alg];
  if (jwk.kty !== p.kty) return false;
  if (p.crv !== undefined && jwk.crv !== p.crv) return false;
  // RFC 7517 §4.4: when "alg" is present the key is intended for that algorithm only.
  // "EdDSA" and "Ed25519" name the same Ed25519 signature (RFC 9864 §2).
  if (jwk.alg !== undefined) {
    const same = jwk.alg === alg || (p.kty === 'OKP' && (jwk.alg === 'EdDSA' || jwk.alg === 'Ed25519'));
    if (!same) return false;
  }
  // RFC 7517 §4.2 / §4.3: a key marked for encryption, or without "verify" in key_ops, is not a verification key.
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false;
  return true;
}

/** Imports a public JWK as a node:crypto KeyObject; throws on anything unusable. Private members are never imported. */
export function importPublicJwk(jwk: PublicJwk): KeyObject {
  let pub: Record<string, unknown>;
  switch (jwk.kty) {
    case 'EC': pub = { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }; break;
    case 'RSA': pub = { kty: 'RSA', n: jwk.n, e: jwk.e }; break;
    case 'OKP': pub = { kty: 'OKP', crv: jwk.crv, x: jwk.x }; break;
    default: throw new TypeError('unsupported kty');
  }
  for (const v of Object.values(pub)) if (typeof v !== 'string') throw new TypeError('JWK member is not a string');
  const key = createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' });
  if (jwk.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new TypeError(`RSA modulus shorter than ${MIN_RSA_BITS} bits`);
  }
  return key;
}

/** Builds the node:crypto verification closure for one key and one algorithm. */
export function createVerifier(key: KeyObject, alg: JwsAlgorithm, kid: string | undefined): Verifier {
  const p = PROFILES[alg];
  if (p.kty === 'EC') {
    const keyParams = { key, dsaEncoding: 'ieee-p1363' as const };
    const hash = p.hash as string;
    const length = p.signatureLength as number;
    return {
      alg, kid,
      verify: (data, sig) => sig.length === length && cryptoVerify(hash, data, keyParams, sig),
    };
  }
  if (p.kty === 'RSA') {
    const hash = p.hash as 'sha256' | 'sha384' | 'sha512';
    // RFC 7518 §3.5: RSASSA-PSS with MGF1 using the same hash, "the size of the salt value is the same size as the hash function output".
    const keyParams = p.pss
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LENGTH[hash] }
      : { key, padding: constants.RSA_PKCS1_PADDING };
    const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    return {
      alg, kid,
      verify: (data, sig) => sig.length === modulusBytes && cryptoVerify(hash, data, keyParams, sig),
    };
  }
  return { alg, kid, verify: (data, sig) => sig.length === 64 && cryptoVerify(null, data, key, sig) };
}
