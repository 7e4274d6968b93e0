/**
 * The one catalog of OAuth errors (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8707 §2).
 * Each error carries a public, fixed `error_description` and an optional private `detail`
 * that is only ever logged. Everything that is not an OAuthError becomes `server_error`.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'unsupported_token_type'
  | 'access_denied'
  | 'method_not_allowed'
  | 'not_found'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error';

const defaultStatus: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  unsupported_token_type: 400,
  access_denied: 403,
  method_not_allowed: 405,
  not_found: 404,
  too_many_requests: 429,
  temporarily_unavailable: 503,
  server_error: 500,
};

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  /** Logged only, never sent. */
  readonly detail: string | undefined;
  headers: Record<string, string> | undefined;

  constructor(error: OAuthErrorCode, description: string, opts: { status?: number; detail?: string; headers?: Record<string, string> } = {}) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.error = error;
    this.status = opts.status ?? defaultStatus[error];
    this.description = description;
    this.detail = opts.detail;
    this.headers = opts.headers;
  }

  get expose(): boolean {
    return this.status < 500 || this.error === 'temporarily_unavailable';
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', description, detail === undefined ? {} : { detail });

/** The single failed-authentication error: unknown client and wrong secret must be indistinguishable. */
export const invalidClient = (detail?: string) =>
  new OAuthError('invalid_client', 'client authentication failed', detail === undefined ? {} : { detail });

export const temporarilyUnavailable = (detail?: string) =>
  new OAuthError('temporarily_unavailable', 'the service is temporarily unavailable, retry later', {
    ...(detail === undefined ? {} : { detail }),
    headers: { 'retry-after': '1' },
  });

/** Thrown by stores when the database cannot be reached; mapped to 503. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}
