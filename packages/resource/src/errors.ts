/**
 * One catalog of every way a protected-resource request can fail.
 *
 * Each entry fixes the HTTP status, the RFC 6750 §3.1 / RFC 9449 §7.1 `error`
 * code and a short public `error_description`. The public description is
 * deliberately coarse (RFC 6750 §5.1: do not hand an attacker an oracle); the
 * precise reason lives in {@link ResourceError.code} and the private
 * {@link ResourceError.detail}, which go to your logs, never to the wire.
 */
export const ERROR_CATALOG = {
  /** RFC 6750 §3.1: "If the request lacks any authentication information ..., the resource server SHOULD NOT include an error code". */
  ERR_MISSING_TOKEN: { status: 401, error: undefined, description: undefined },
  /** RFC 6750 §3.1 `invalid_request`: malformed `Authorization`, several tokens, token in the query string. */
  ERR_INVALID_REQUEST: { status: 400, error: 'invalid_request', description: 'The request is malformed' },
  /** Not a compact JWS, bad base64url or JSON, or too long. */
  ERR_TOKEN_MALFORMED: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** Opaque token but no introspection endpoint is configured. */
  ERR_TOKEN_UNSUPPORTED: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `alg` not in the allow-list (RFC 8725 §3.1), including `none` and every HMAC algorithm. */
  ERR_JWT_ALG_NOT_ALLOWED: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `typ` is not `at+jwt` (RFC 9068 §4, RFC 8725 §3.11). */
  ERR_JWT_TYP_INVALID: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** A `crit` header this library does not understand (RFC 7515 §4.1.11). */
  ERR_JWT_CRIT_UNSUPPORTED: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** No key in the issuer's JWKS matches `kid` and `alg`. */
  ERR_JWKS_NO_MATCHING_KEY: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** The signature does not verify. */
  ERR_JWS_SIGNATURE_INVALID: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `iss` is not exactly the configured issuer (RFC 9068 §4, RFC 8725 §3.8). */
  ERR_JWT_ISSUER_INVALID: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `aud` does not contain this API's identifier (RFC 9068 §4, RFC 8725 §3.9). */
  ERR_JWT_AUDIENCE_INVALID: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** A required claim is missing or has the wrong JSON type. */
  ERR_JWT_CLAIM_INVALID: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `exp` is in the past, beyond the clock tolerance (RFC 7519 §4.1.4). */
  ERR_JWT_EXPIRED: { status: 401, error: 'invalid_token', description: 'The access token expired' },
  /** `nbf` or `iat` is in the future, beyond the clock tolerance (RFC 7519 §4.1.5). */
  ERR_JWT_NOT_YET_VALID: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `iat` is older than the configured `maxTokenAge`. */
  ERR_JWT_TOO_OLD: { status: 401, error: 'invalid_token', description: 'The access token expired' },
  /** Introspection said `"active": false` (RFC 7662 §2.2), or its answer is unusable for this API. */
  ERR_TOKEN_INACTIVE: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** A DPoP-bound token (`cnf.jkt`) presented with the `Bearer` scheme (RFC 9449 §7.2). */
  ERR_TOKEN_SENDER_CONSTRAINED: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** `DPoP` scheme, but the token is not bound to a DPoP key, or DPoP is disabled. */
  ERR_DPOP_NOT_BOUND: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** Bearer presented where `dpop: { required: true }` (RFC 9449 §7.1). */
  ERR_DPOP_REQUIRED: { status: 401, error: 'invalid_token', description: 'The access token must be DPoP-bound' },
  /** `DPoP` scheme without exactly one `DPoP` header (RFC 9449 §4.3 step 1). */
  ERR_DPOP_PROOF_MISSING: { status: 401, error: 'invalid_dpop_proof', description: 'The DPoP proof is invalid' },
  /** The proof fails a RFC 9449 §4.3 check (typ, alg, jwk, signature, htm, htu, iat, ath). */
  ERR_DPOP_PROOF_INVALID: { status: 401, error: 'invalid_dpop_proof', description: 'The DPoP proof is invalid' },
  /** The proof's `jti` was already seen within the replay window (RFC 9449 §11.1). */
  ERR_DPOP_PROOF_REPLAYED: { status: 401, error: 'invalid_dpop_proof', description: 'The DPoP proof is invalid' },
  /** The proof key's RFC 7638 thumbprint differs from the token's `cnf.jkt` (RFC 9449 §7.1). */
  ERR_DPOP_KEY_MISMATCH: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** Token bound to a certificate (`cnf.x5t#S256`) but the request carries none (RFC 8705 §3). */
  ERR_MTLS_CERTIFICATE_MISSING: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** The certificate's SHA-256 thumbprint differs from `cnf.x5t#S256` (RFC 8705 §3). */
  ERR_MTLS_CERTIFICATE_MISMATCH: { status: 401, error: 'invalid_token', description: 'The access token is invalid' },
  /** RFC 6750 §3.1 `insufficient_scope`. */
  ERR_INSUFFICIENT_SCOPE: { status: 403, error: 'insufficient_scope', description: 'The access token lacks the required scope' },
  /** The issuer's metadata or JWKS could not be fetched or was unusable; not the caller's fault. */
  ERR_JWKS_UNAVAILABLE: { status: 503, error: 'temporarily_unavailable', description: 'Token verification is temporarily unavailable' },
  /** RFC 8414 / OpenID discovery failed or returned a different `issuer`. */
  ERR_DISCOVERY_FAILED: { status: 503, error: 'temporarily_unavailable', description: 'Token verification is temporarily unavailable' },
  /** The introspection endpoint failed or answered with something that is not RFC 7662. */
  ERR_INTROSPECTION_UNAVAILABLE: { status: 503, error: 'temporarily_unavailable', description: 'Token verification is temporarily unavailable' },
} as const;

/** Stable error codes callers can `switch` on. */
export type ResourceErrorCode = keyof typeof ERROR_CATALOG;

/** The `error` values that can appear on the wire. */
export type WireError = NonNullable<(typeof ERROR_CATALOG)[ResourceErrorCode]['error']>;

/**
 * Every verification failure is a `ResourceError`. Switch on `code`; `status`,
 * `error` and `description` are what goes on the wire; `detail` is for logs only.
 */
export class ResourceError extends Error {
  override name = 'ResourceError';
  readonly code: ResourceErrorCode;
  readonly status: 400 | 401 | 403 | 503;
  /** RFC 6750 / RFC 9449 `error` code, or `undefined` for "no credentials" (RFC 6750 §3.1). */
  readonly error: WireError | undefined;
  /** Fixed public text for `error_description`. */
  readonly description: string | undefined;
  /** Private detail for logs; never sent to the client. Never contains the token. */
  readonly detail: string;
  /** For `ERR_INSUFFICIENT_SCOPE`: the scope(s) the request needed (RFC 6750 §3 `scope` attribute). */
  readonly requiredScope?: string;

  constructor(code: ResourceErrorCode, detail?: string, options?: { requiredScope?: string; cause?: unknown }) {
    const entry = ERROR_CATALOG[code];
    super(detail ? `${code}: ${detail}` : code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = entry.status;
    this.error = entry.error;
    this.description = entry.description;
    this.detail = detail ?? '';
    if (options?.requiredScope !== undefined) this.requiredScope = options.requiredScope;
  }
}

/** Thrown by {@link createResourceServer} for a bad option; names the option path. */
export class ResourceConfigError extends Error {
  override name = 'ResourceConfigError';
  readonly code = 'ERR_RESOURCE_CONFIG' as const;
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}
