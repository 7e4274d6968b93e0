import { constants } from 'node:crypto';

/**
 * The asymmetric JWS algorithms the core can verify (RFC 7518 §3.3–3.5, RFC 8037 §3.1, RFC 9864 §2
 * `Ed25519`). `none` and HMAC are absent on purpose (RFC 8725 §3.1, §3.2). `EdDSA` means Ed25519 only:
 * SPEC §8 lists OKP Ed25519 as the only Edwards curve, so Ed448 is refused everywhere.
 */
export const ASYMMETRIC_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519'] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGS)[number];

/** Access-token signing (SPEC §3 "Algorithms: ES256 (default), EdDSA, RS256, PS256"; RFC 9068 §2.1 requires RS256). */
export const ACCESS_TOKEN_SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;
export type AccessTokenSigningAlg = (typeof ACCESS_TOKEN_SIGNING_ALGS)[number];

/** private_key_jwt (RFC 7523 §2.2): asymmetric only — an HMAC "signed" with a public key must never verify. */
export const PRIVATE_KEY_JWT_ALGS: readonly AsymmetricAlg[] = ASYMMETRIC_ALGS;

/** client_secret_jwt (OpenID Connect Core §9): HMAC only, keyed with the client secret. */
export const CLIENT_SECRET_JWT_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type HmacAlg = (typeof CLIENT_SECRET_JWT_ALGS)[number];

/**
 * RFC 7518 §3.2: "A key of the same size as the hash output (for instance, 256 bits for "HS256") or
 * larger MUST be used with this algorithm."
 */
export const HMAC_MIN_KEY_BYTES: Readonly<Record<HmacAlg, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** DPoP proofs: RFC 9449 §4.2 "MUST NOT be none or an identifier for a symmetric algorithm (MAC)". */
export const DPOP_ALGS: readonly AsymmetricAlg[] = ASYMMETRIC_ALGS;

/** Access-token verification at a resource server (RFC 9068 §4, RFC 8725 §3.1): asymmetric only. */
export const RESOURCE_ALGS: readonly AsymmetricAlg[] = ASYMMETRIC_ALGS;

/** Which table applies; each use has its own so widening one never widens another. */
export type AlgorithmUse = 'access-token' | 'private-key-jwt' | 'dpop' | 'resource';

export const ALGORITHM_TABLES: Readonly<Record<AlgorithmUse, readonly AsymmetricAlg[]>> = {
  'access-token': ACCESS_TOKEN_SIGNING_ALGS,
  'private-key-jwt': PRIVATE_KEY_JWT_ALGS,
  dpop: DPOP_ALGS,
  resource: RESOURCE_ALGS,
};

export type Hash = 'sha256' | 'sha384' | 'sha512';

/** What one algorithm needs from a key and from node:crypto. */
export interface AlgorithmProfile {
  readonly alg: AsymmetricAlg;
  readonly kty: 'EC' | 'RSA' | 'OKP';
  /** Required `crv` for EC and OKP keys. */
  readonly crv: 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | undefined;
  /** node:crypto digest name; null for EdDSA (the hash is part of the scheme). */
  readonly hash: Hash | null;
  /** Extra node:crypto sign/verify options (merged with `{ key }`). */
  readonly options: { readonly dsaEncoding?: 'ieee-p1363'; readonly padding?: number; readonly saltLength?: number };
  /** Exact signature length in bytes for EC/OKP; undefined for RSA (equals the modulus length). */
  readonly signatureLength: number | undefined;
}

// RFC 7518 §3.4: ECDSA signatures are R || S ("ieee-p1363"), each the curve's coordinate size — not DER.
const ec = (alg: AsymmetricAlg, crv: 'P-256' | 'P-384' | 'P-521', hash: Hash, signatureLength: number): AlgorithmProfile => ({
  alg, kty: 'EC', crv, hash, options: { dsaEncoding: 'ieee-p1363' }, signatureLength,
});
const rsa = (alg: AsymmetricAlg, hash: Hash): AlgorithmProfile => ({
  alg, kty: 'RSA', crv: undefined, hash, options: { padding: constants.RSA_PKCS1_PADDING }, signatureLength: undefined,
});
// RFC 7518 §3.5: RSASSA-PSS with MGF1 on the same hash; "The size of the salt value is the same size as the hash function output."
const pss = (alg: AsymmetricAlg, hash: Hash, saltLength: number): AlgorithmProfile => ({
  alg, kty: 'RSA', crv: undefined, hash, options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signatureLength: undefined,
});
// RFC 8037 §3.1 / RFC 9864 §2: Ed25519 signatures are 64 bytes.
const ed = (alg: AsymmetricAlg): AlgorithmProfile => ({ alg, kty: 'OKP', crv: 'Ed25519', hash: null, options: {}, signatureLength: 64 });

export const PROFILES: Readonly<Record<AsymmetricAlg, AlgorithmProfile>> = {
  ES256: ec('ES256', 'P-256', 'sha256', 64),
  ES384: ec('ES384', 'P-384', 'sha384', 96),
  ES512: ec('ES512', 'P-521', 'sha512', 132),
  PS256: pss('PS256', 'sha256', 32),
  PS384: pss('PS384', 'sha384', 48),
  PS512: pss('PS512', 'sha512', 64),
  RS256: rsa('RS256', 'sha256'),
  RS384: rsa('RS384', 'sha384'),
  RS512: rsa('RS512', 'sha512'),
  EdDSA: ed('EdDSA'),
  Ed25519: ed('Ed25519'),
};

const ASYMMETRIC = new Set<string>(ASYMMETRIC_ALGS);

/** Whether `alg` is one of the asymmetric algorithms the core knows (not whether a given use allows it). */
export function isAsymmetricAlg(alg: unknown): alg is AsymmetricAlg {
  return typeof alg === 'string' && ASYMMETRIC.has(alg);
}

/** Whether `alg` is in the table for `use`. */
export function algAllowed(alg: unknown, use: AlgorithmUse): alg is AsymmetricAlg {
  return isAsymmetricAlg(alg) && ALGORITHM_TABLES[use].includes(alg);
}

export function isHmacAlg(alg: unknown): alg is HmacAlg {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}
