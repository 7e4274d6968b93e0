/** Stored shapes. Wire/stored names follow RFC 7591 where one exists. Times ending in `_at` are epoch milliseconds. */
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | 'federated_jwt';

export const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'federated_jwt',
];

export interface ClientRecord {
  client_id: string;
  client_name: string;
  /** Allowed scopes, space-separated. */
  scope: string;
  default_scope: string | null;
  audience: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: string[];
  jwks: { keys: Record<string, unknown>[] } | null;
  jwks_uri: string | null;
  access_token_ttl: number | null;
  access_token_format: 'jwt' | 'opaque';
  /** Other RFC 7591/8705/9449 metadata (tls_client_auth_subject_dn, dpop_bound_access_tokens, …). */
  extra: Record<string, unknown>;
  /**
   * client_secret_jwt only, legacy: the client's newest secret sealed under the KEK with AAD
   * `client-secret:<client_id>`. Since migration 0003 each secret carries its own sealed value
   * ({@link ClientSecretRecord.secret_sealed}); this column is still written with the newest secret and
   * read only as a fallback (see management/clients.service.ts `sealSecret`).
   */
  secret_sealed: string | null;
  disabled: boolean;
  created_at: number;
  updated_at: number;
  /**
   * `federated_jwt` clients only (SPEC §9): the trusted issuer (by name), the exact `sub` its tokens
   * carry for this workload, and claims that must be equal. One (issuer, subject) → one client (unique
   * index). Absent/null for every other method.
   */
  federated_identity?: FederatedIdentity | null;
}

export interface FederatedIdentity {
  /** Name of a trusted issuer (TrustedIssuerRecord.name). */
  issuer: string;
  subject: string;
  claims?: Record<string, string>;
}

export type TrustedIssuerKind = 'oidc' | 'kubernetes' | 'spiffe' | 'github';

/**
 * A trusted issuer (SPEC §9): a Kubernetes cluster, SPIFFE trust domain, GitHub Actions or any OIDC
 * issuer whose tokens federated clients present as client assertions. Keys come from `jwks` (a file
 * given at `trust add`), else `jwks_uri`, else the issuer's discovery document.
 */
export interface TrustedIssuerRecord {
  name: string;
  /** Exact `iss` value of its tokens; for kind spiffe the trust domain `spiffe://example.org`. Unique. */
  issuer: string;
  kind: TrustedIssuerKind;
  jwks_uri: string | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  /** Longest accepted `exp - iat`, seconds. */
  max_assertion_lifetime: number;
  /** `jti` is single-use (when present) for this issuer's tokens. */
  single_use: boolean;
  created_at: number;
  updated_at: number;
}

export interface ClientSecretRecord {
  id: string;
  client_id: string;
  /** Keyed hash (see client-auth/secret-hash.ts). */
  hash: string;
  created_at: number;
  /** null = no expiry. After a rotation the old secret gets the end of its grace period here. */
  expires_at: number | null;
  /**
   * client_secret_jwt only: this secret sealed under the KEK (it is the HMAC key), AAD
   * `client-secret:<client_id>:<id>` so a sealed value cannot be moved to another row; rows copied by
   * migration 0003 keep the legacy AAD `client-secret:<client_id>`. null/absent for other methods.
   */
  secret_sealed?: string | null;
}

export type KeyState = 'next' | 'current' | 'retired';

export interface SigningKeyRecord {
  kid: string;
  alg: 'ES256' | 'EdDSA' | 'RS256' | 'PS256';
  public_jwk: Record<string, unknown>;
  /** PKCS#8 PEM sealed under the KEK. */
  private_sealed: string;
  created_at: number;
  /** Published in the JWKS from this time. */
  publish_at: number;
  /** Signs from this time (the node picks the key with the greatest activate_at <= now). */
  activate_at: number;
  /** Stopped signing at (set when a newer key activates); null while current. */
  retired_at: number | null;
  /** Dropped from the JWKS after this time (retired_at + longest token lifetime). */
  expires_at: number | null;
}

export interface AuditRecord {
  id?: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export interface OpaqueTokenRecord {
  /** SHA-256 of the token, base64url. The token itself is never stored. */
  token_hash: string;
  jti: string;
  client_id: string;
  scope: string;
  aud: string[];
  iat: number;
  exp: number;
  cnf: Record<string, unknown> | null;
  token_type: string;
}

export interface RegistrationTokenRecord {
  token_hash: string;
  /** Scope cap (space-separated). null only on legacy tokens (before migration 0005). */
  scope: string | null;
  created_at: number;
  expires_at: number | null;
  created_by: string;
  /**
   * Audience cap (SPEC §7). null = a legacy token created before caps were mandatory: refused for new
   * registrations. Absent when written by code that predates it (treated as null).
   */
  audience?: string[] | null;
  /** How many clients the token may register (null: legacy, no quota). */
  max_clients?: number | null;
  /** How many it has registered (counted atomically, never decremented by a later delete). */
  clients_registered?: number;
}

/** RFC 7592 registration of a dynamically registered client: its registration access token (hashed) and policy. */
export interface ClientRegistrationRecord {
  client_id: string;
  /** SHA-256 of the registration access token (hex). The token itself is never stored. */
  token_hash: string;
  /** Scope cap copied from the initial access token (SPEC §7: enforced on every RFC 7592 update, also after the IAT is deleted). */
  scope_cap: string | null;
  created_at: number;
  /** Which initial access token registered the client (its hash), for the audit trail. */
  created_by: string;
  /** Audience cap copied from the initial access token. */
  audience_cap?: string[] | null;
  /** When the current registration access token was issued (epoch ms); it expires registrationAccessTokenTtl later. */
  token_issued_at?: number;
}

export interface ChangeEvent {
  seq: number;
  /**
   * `revocation`: ref = a revoked JWT's jti; `opaque_revocation`: ref = the SHA-256 hash (base64url) of a deleted
   * opaque token, never the token.
   */
  kind: 'client' | 'key' | 'revocation' | 'opaque_revocation' | 'config' | 'trusted_issuer';
  ref: string;
  at: number;
}
