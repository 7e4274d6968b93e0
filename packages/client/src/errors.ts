/**
 * Stable error codes raised by `@latchkey/client`. Switch on `error.code`, never on the message.
 *
 * - `ERR_OAUTH_ERROR_RESPONSE`: the authorization server answered with an RFC 6749 §5.2 error
 *   (`error.error` holds the RFC code, e.g. `invalid_client`, `invalid_scope`).
 * - `ERR_HTTP_STATUS`: an unexpected HTTP status without an RFC 6749 §5.2 body (e.g. a 502 HTML page).
 * - `ERR_INVALID_RESPONSE`: a 2xx response that is not a valid RFC 6749 §5.1 token response
 *   or RFC 8414 metadata document.
 * - `ERR_NETWORK`: the request could not be completed (connection refused/reset, DNS, TLS).
 * - `ERR_TIMEOUT`: one HTTP attempt took longer than `timeoutMs`.
 * - `ERR_ABORTED`: the caller's `AbortSignal` fired.
 * - `ERR_DISCOVERY`: RFC 8414 / OpenID discovery failed (no document, or `issuer` mismatch, RFC 8414 §3.3).
 * - `ERR_INVALID_OPTIONS`: the client was constructed or called with invalid options.
 * - `ERR_INVALID_KEY`: a signing key (private_key_jwt, DPoP) cannot be used.
 */
export type ClientErrorCode =
  | 'ERR_OAUTH_ERROR_RESPONSE'
  | 'ERR_HTTP_STATUS'
  | 'ERR_INVALID_RESPONSE'
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_DISCOVERY'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_INVALID_KEY';

/** Every code, for documentation tests and exhaustive switches. */
export const CLIENT_ERROR_CODES: readonly ClientErrorCode[] = Object.freeze([
  'ERR_OAUTH_ERROR_RESPONSE',
  'ERR_HTTP_STATUS',
  'ERR_INVALID_RESPONSE',
  'ERR_NETWORK',
  'ERR_TIMEOUT',
  'ERR_ABORTED',
  'ERR_DISCOVERY',
  'ERR_INVALID_OPTIONS',
  'ERR_INVALID_KEY',
]);

/** Base class of every error thrown by `@latchkey/client`. Never carries a secret or a token. */
export class LatchkeyClientError extends Error {
  readonly code: ClientErrorCode;
  /** HTTP status of the response that caused the error, when there was one. */
  readonly status: number | undefined;
  /** Whether the library considered the failure transient (it may already have retried). */
  readonly retryable: boolean;
  /** Seconds the server asked us to wait (`Retry-After`, RFC 9110 §10.2.3), when it did. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    opts: { status?: number; retryable?: boolean; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LatchkeyClientError';
    this.code = code;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/**
 * The authorization server returned an RFC 6749 §5.2 error response
 * (`{"error": "...", "error_description": "..."}`). `error` is the RFC code callers switch on:
 * `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
 * `unsupported_grant_type`, `invalid_scope` (RFC 6749), `invalid_target` (RFC 8707),
 * `use_dpop_nonce` / `invalid_dpop_proof` (RFC 9449), `temporarily_unavailable`, `server_error`, …
 */
export class OAuthErrorResponse extends LatchkeyClientError {
  /** The RFC 6749 §5.2 `error` code, verbatim from the server. */
  readonly error: string;
  /** The server's `error_description`, if any (server-controlled text: do not trust it for logic). */
  readonly errorDescription: string | undefined;
  /** The server's `error_uri`, if any. */
  readonly errorUri: string | undefined;

  constructor(
    error: string,
    opts: {
      status: number;
      errorDescription?: string;
      errorUri?: string;
      retryable?: boolean;
      retryAfterSeconds?: number;
    },
  ) {
    super(
      'ERR_OAUTH_ERROR_RESPONSE',
      `authorization server error: ${error}${opts.errorDescription ? ` (${opts.errorDescription})` : ''}`,
      opts,
    );
    this.name = 'OAuthErrorResponse';
    this.error = error;
    this.errorDescription = opts.errorDescription;
    this.errorUri = opts.errorUri;
  }
}
