/**
 * Every way the core refuses input. Callers (server, `@latchkey/resource`, `@latchkey/client`) map these
 * codes to their own public errors; the `message` is a log-only detail and never names secret values.
 */
export type JoseErrorCode =
  /** Not a canonical compact JWS, too long, or its header/payload is not a JSON object (RFC 7515 §7.1). */
  | 'ERR_JWS_MALFORMED'
  /** `alg` missing, `none`, or not in the algorithm table for this use (RFC 8725 §3.1). */
  | 'ERR_JWS_ALG_NOT_ALLOWED'
  /** A header the core refuses: `crit` (RFC 7515 §4.1.11), `b64` other than true (RFC 7797 §3), bad `kid`. */
  | 'ERR_JWS_HEADER_REFUSED'
  /** The signature does not verify (RFC 7515 §5.2 step 8). */
  | 'ERR_JWS_SIGNATURE_INVALID'
  /** A JWK the core will not use (RFC 7517 §4, RFC 7518 §6, SPEC §8). */
  | 'ERR_JWK_INVALID'
  /** A key that does not fit the algorithm (kty/crv/alg/use/key_ops, RFC 7517 §4.2–4.4). */
  | 'ERR_JWK_ALG_MISMATCH'
  /** Private key unusable for signing (client side). */
  | 'ERR_KEY_UNSUPPORTED'
  // DPoP proof checks (RFC 9449 §4.3); the number is the check's step.
  /** Step 1: not exactly one DPoP header. */
  | 'ERR_DPOP_HEADER_COUNT'
  /** Step 2: not a well-formed JWT. */
  | 'ERR_DPOP_MALFORMED'
  /** Step 3: a required header or claim is missing or has the wrong type. */
  | 'ERR_DPOP_CLAIM_MISSING'
  /** Step 4: `typ` is not `dpop+jwt`. */
  | 'ERR_DPOP_TYP'
  /** Step 5: `alg` not in the DPoP table. */
  | 'ERR_DPOP_ALG'
  /** Step 7 (and §4.2): `jwk` missing, private, or not a valid public key for `alg`. */
  | 'ERR_DPOP_JWK'
  /** Step 6: signature (named like jose's ERR_JWS_SIGNATURE_VERIFICATION_FAILED). */
  | 'ERR_DPOP_SIGNATURE_VERIFICATION_FAILED'
  /** Step 8: `htm`. */
  | 'ERR_DPOP_HTM'
  /** Step 9: `htu`. */
  | 'ERR_DPOP_HTU'
  /** Step 10: `nonce` missing or not the server's. */
  | 'ERR_DPOP_NONCE'
  /** Step 11: `iat` outside the acceptable window. */
  | 'ERR_DPOP_IAT'
  /** RFC 7519 §4.1.4/§4.1.5: an `exp` that has passed or an `nbf` still ahead (optional claims, checked when present). */
  | 'ERR_DPOP_EXPIRED'
  /** Step 12: `ath` missing or not the hash of the access token. */
  | 'ERR_DPOP_ATH'
  /** §7.1 / §6.1: the proof key is not the key the token is bound to. */
  | 'ERR_DPOP_KEY_MISMATCH'
  /** §11.1: `jti` already used. */
  | 'ERR_DPOP_REPLAYED';

/** The one error type the core throws for bad input. */
export class JoseError extends Error {
  readonly code: JoseErrorCode;
  constructor(code: JoseErrorCode, message: string) {
    super(message);
    this.name = 'JoseError';
    this.code = code;
  }
}

/**
 * A value from untrusted input, for an error message: strings as JSON (truncated), other JSON scalars as they are,
 * anything else by its type. Never calls the value's own toString (`{"toString":0}` would throw).
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
