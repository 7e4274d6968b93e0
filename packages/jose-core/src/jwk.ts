import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isAsymmetricAlg, PROFILES, type AsymmetricAlg } from './algorithms.js';
import { base64urlByteLength, isCanonicalBase64url } from './base64url.js';
import { JoseError } from './errors.js';

/**
 * Private-key members of a JWK — the one list (RFC 7518 §6.2.2 `d`; §6.3.2 `d`, `p`, `q`, `dp`, `dq`,
 * `qi`, `oth`; §6.4.1 `k`; RFC 8037 §2 `d`). A public JWK has none of them.
 */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Whether any private/symmetric member is present (RFC 9449 §4.3 step 7, SPEC §8 "no private members"). */
export function hasPrivateMembers(jwk: Readonly<Record<string, unknown>>): boolean {
  for (const m of PRIVATE_JWK_MEMBERS) if (jwk[m] !== undefined) return true;
  return false;
}

/** SPEC §8: RSA 2048–8192 bits. RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". */
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;
/** SPEC §8: e = 65537 (small exponents invite PKCS#1 v1.5 forgeries with sloppy verifiers). */
export const RSA_EXPONENT = 'AQAB';

/** RFC 7518 §6.2.1.2/§6.2.1.3: coordinates are the full size of the curve's field. RFC 8037 §2: Ed25519 x is 32 bytes. */
const COORDINATE_BYTES: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, Ed25519: 32 };

/**
 * Members a JWK may carry when validated strictly (SPEC §7: "only the members RFC 7517/7518 define for
 * their key type"): RFC 7517 §4.1–4.9 minus `x5u` (a URL Latchkey would never fetch; SPEC §8 forbids
 * unvalidated outbound fetches, so a registered one could only mislead), plus the key-type members of
 * RFC 7518 §6.2.1, §6.3.1 and RFC 8037 §2.
 */
const COMMON_MEMBERS = ['kty', 'kid', 'use', 'key_ops', 'alg', 'x5c', 'x5t', 'x5t#S256'] as const;
const TYPE_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};
const ALLOWED_STRICT: Readonly<Record<string, ReadonlySet<string>>> = Object.fromEntries(
  Object.entries(TYPE_MEMBERS).map(([kty, m]) => [kty, new Set<string>([...COMMON_MEMBERS, ...m])]),
);

/**
 * Why a key is being validated:
 * - `registration`: a client key being registered (jwks at registration / admin API / CLI) — strict
 *   members (SPEC §7 "only the members RFC 7517/7518 define for their key type") and, when `alg` is
 *   present, a JWS signing algorithm that fits the key (Latchkey only ever verifies client signatures);
 *   `use` "enc" or `key_ops` without "verify" are allowed by RFC 7517 and make the key a non-candidate;
 * - `dpop`: a DPoP proof's `jwk` header;
 * - `verification`: a key fetched to verify signatures (a client's jwks_uri, an authorization server's
 *   JWKS at a resource server) — unknown members are ignored as RFC 7517 §4 requires ("if not
 *   understood by implementations encountering them, they MUST be ignored"), since WebCrypto exports
 *   add `ext` and publishers add their own; keys for other uses are simply never a fit ({@link jwkFitsAlg}).
 * Every use refuses private members, unknown `kty`, RSA outside 2048–8192 bits or e ≠ 65537, curves
 * other than P-256/P-384/P-521, and OKP other than Ed25519 (so Ed448 is refused everywhere).
 */
export type JwkUse = 'registration' | 'dpop' | 'verification';

/** The required public members of a valid JWK (what RFC 7638 hashes and what node:crypto imports). */
export type PublicJwkMembers =
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string }
  | { readonly kty: 'EC'; readonly crv: 'P-256' | 'P-384' | 'P-521'; readonly x: string; readonly y: string }
  | { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string };

export interface ValidatedJwk {
  /** Imported once; callers cache the result (by record identity or thumbprint). */
  readonly key: KeyObject;
  readonly members: PublicJwkMembers;
  readonly kid: string | undefined;
  readonly alg: string | undefined;
}

function fail(detail: string): never {
  throw new JoseError('ERR_JWK_INVALID', detail);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function b64Member(jwk: Record<string, unknown>, m: string, bytes?: number): string {
  const v = jwk[m];
  if (typeof v !== 'string' || v.length === 0 || v.length > 2048 || !isCanonicalBase64url(v)) fail(`${m} must be canonical base64url`);
  if (bytes !== undefined && base64urlByteLength(v) !== bytes) fail(`${m} must be ${bytes} bytes`);
  return v;
}

/** Whether `alg` can be used with a key of this kty/crv (RFC 7518 §3, RFC 8037 §3.1). */
export function algFitsKeyType(alg: AsymmetricAlg, kty: unknown, crv: unknown): boolean {
  const p = PROFILES[alg];
  return p.kty === kty && (p.crv === undefined || p.crv === crv);
}

/**
 * Checks the members of a public JWK without importing it (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2,
 * SPEC §8) and returns its required members. Throws {@link JoseError} `ERR_JWK_INVALID`.
 */
export function checkJwkMembers(jwk: unknown, use: JwkUse): PublicJwkMembers {
  if (!isRecord(jwk)) fail('a JWK must be a JSON object');
  // RFC 9449 §4.3 step 7 / SPEC §8: never a private or symmetric key.
  if (hasPrivateMembers(jwk)) fail('JWK contains private key material (or is a symmetric key)');
  const kty = jwk.kty;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') fail('kty must be RSA, EC or OKP');
  const strict = use === 'registration';
  if (strict) {
    const allowed = ALLOWED_STRICT[kty]!;
    for (const m of Object.keys(jwk)) if (!allowed.has(m)) fail(`member ${m} is not defined for kty ${kty}`);
  }
  // RFC 7517 §4.2–4.9: the common members, when present, have these types.
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid.length > 1024)) fail('kid must be a string');
  if (jwk.use !== undefined && typeof jwk.use !== 'string') fail('use must be a string');
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') fail('alg must be a string');
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops;
    // RFC 7517 §4.3: an array of strings; "Duplicate key operation values MUST NOT be present".
    if (!Array.isArray(ops) || ops.some((o) => typeof o !== 'string') || new Set(ops).size !== ops.length) fail('key_ops must be an array of distinct strings');
  }
  if (jwk.x5c !== undefined && (!Array.isArray(jwk.x5c) || jwk.x5c.some((c) => typeof c !== 'string'))) fail('x5c must be an array of strings');
  for (const m of ['x5t', 'x5t#S256', 'x5u'] as const) if (jwk[m] !== undefined && typeof jwk[m] !== 'string') fail(`${m} must be a string`);

  let members: PublicJwkMembers;
  if (kty === 'RSA') {
    const n = b64Member(jwk, 'n');
    const e = b64Member(jwk, 'e');
    if (e !== RSA_EXPONENT) fail('RSA exponent must be 65537 (AQAB)');
    // Bits are checked exactly after import; this bounds the work of importing.
    const bytes = base64urlByteLength(n);
    if (bytes < MIN_RSA_BITS / 8 - 1 || bytes > MAX_RSA_BITS / 8 + 1) fail(`RSA modulus must be ${MIN_RSA_BITS}–${MAX_RSA_BITS} bits`);
    members = { kty, n, e };
  } else if (kty === 'EC') {
    const crv = jwk.crv;
    if (crv !== 'P-256' && crv !== 'P-384' && crv !== 'P-521') fail('EC crv must be P-256, P-384 or P-521');
    members = { kty, crv, x: b64Member(jwk, 'x', COORDINATE_BYTES[crv]), y: b64Member(jwk, 'y', COORDINATE_BYTES[crv]) };
  } else {
    // SPEC §8 lists OKP Ed25519 only: Ed448 is refused, and X25519/X448 are not signature keys (RFC 8037 §2).
    if (jwk.crv !== 'Ed25519') fail('OKP crv must be Ed25519');
    members = { kty, crv: 'Ed25519', x: b64Member(jwk, 'x', COORDINATE_BYTES.Ed25519) };
  }

  if (jwk.alg !== undefined && (strict || isAsymmetricAlg(jwk.alg))) {
    // RFC 7517 §4.4: the key is intended for that algorithm, so it must be one this key can do.
    if (!isAsymmetricAlg(jwk.alg) || !algFitsKeyType(jwk.alg, kty, members.kty === 'RSA' ? undefined : members.crv)) {
      fail(`alg ${String(jwk.alg)} does not fit this ${kty} key`);
    }
  }
  return members;
}

/**
 * Imports checked members as a node KeyObject. `createPublicKey({ format: 'jwk' })` refuses an EC point
 * that is not on the curve (tested), so invalid-curve keys never reach a verifier.
 */
export function importPublicMembers(members: PublicJwkMembers): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members as JsonWebKey, format: 'jwk' });
  } catch {
    fail('JWK is not a valid public key (point not on the curve, or malformed)');
  }
  if (members.kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) fail(`RSA modulus must be ${MIN_RSA_BITS}–${MAX_RSA_BITS} bits`);
  }
  return key;
}

/**
 * The one JWK validation: members ({@link checkJwkMembers}) and the key itself
 * ({@link importPublicMembers}). Returns the imported KeyObject; callers cache it.
 *
 * @example
 * const { key } = validatePublicJwk(registered, 'registration');
 *
 * Does not check: `x5c` certificate chains or that `x5t` matches `x5c` (RFC 8705 §2.2 self-signed
 * certificates are trusted because they are registered).
 */
export function validatePublicJwk(jwk: unknown, use: JwkUse): ValidatedJwk {
  const members = checkJwkMembers(jwk, use);
  const rec = jwk as Record<string, unknown>;
  return { key: importPublicMembers(members), members, kid: rec.kid as string | undefined, alg: rec.alg as string | undefined };
}

/**
 * Whether the JWK may verify `alg` signatures: kty/crv fit (RFC 7518 §3), `alg` on the key equal
 * (RFC 7517 §4.4; `EdDSA` and `Ed25519` name the same signature, RFC 9864 §2), `use` "sig" when
 * present (§4.2), `key_ops` with "verify" when present (§4.3).
 */
export function jwkFitsAlg(jwk: Readonly<Record<string, unknown>>, alg: AsymmetricAlg): boolean {
  const p = PROFILES[alg];
  if (!algFitsKeyType(alg, jwk.kty, jwk.crv)) return false;
  if (jwk.alg !== undefined) {
    const same = jwk.alg === alg || (p.kty === 'OKP' && (jwk.alg === 'EdDSA' || jwk.alg === 'Ed25519'));
    if (!same) return false;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false;
  return true;
}
