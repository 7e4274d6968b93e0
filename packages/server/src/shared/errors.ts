/**
 * The one catalog of errors Latchkey answers with, and the one function that turns anything thrown
 * into an HTTP response ({@link toResponse}). Modelled on `@latchkey/resource`'s `ERROR_CATALOG`.
 *
 * Each code fixes its HTTP status and a fixed public description used when the thrower gives none;
 * a thrower may give a more precise public description (e.g. "token is required") — never a secret,
 * a token or request data. The private `detail` is only ever logged. Everything that is not an
 * OAuthError becomes `500 server_error` (a store outage: `503 temporarily_unavailable`).
 *
 * Every code here is used in src and listed in docs/architecture.md ("Errors");
 * test/shared/errors-catalog.test.ts keeps both true.
 */
export const ERROR_CATALOG = {
  /** RFC 6749 §5.2: malformed request, missing/repeated parameter, wrong media type, 405, 413. */
  invalid_request: { status: 400, description: 'the request is malformed' },
  /** RFC 6749 §5.2: client authentication failed (unknown client, wrong secret, bad assertion, …). */
  invalid_client: { status: 401, description: 'client authentication failed' },
  /** RFC 6749 §5.2: the client may not use this grant type. */
  unauthorized_client: { status: 400, description: 'the client is not authorized to use this grant type' },
  /** RFC 6749 §5.2: a grant type other than client_credentials. */
  unsupported_grant_type: { status: 400, description: 'only client_credentials is supported' },
  /** RFC 6749 §5.2: the requested scope is malformed or not allowed for the client. */
  invalid_scope: { status: 400, description: 'the requested scope is not allowed for this client' },
  /** RFC 8707 §2: a resource indicator that is malformed or not allowed for the client. */
  invalid_target: { status: 400, description: 'the requested resource is not allowed for this client' },
  /** RFC 6750 §3.1: the access token (admin API) or initial/registration access token is not valid. */
  invalid_token: { status: 401, description: 'the access token is not valid' },
  /** RFC 6750 §3.1: the access token lacks the required scope. */
  insufficient_scope: { status: 403, description: 'the access token lacks the required scope' },
  /** RFC 9449 §5: the DPoP proof of a token request is invalid. */
  invalid_dpop_proof: { status: 400, description: 'the DPoP proof is invalid' },
  /** RFC 9449 §8: the DPoP proof must carry the server nonce sent in DPoP-Nonce. */
  use_dpop_nonce: { status: 400, description: 'authorization server requires nonce in DPoP proof' },
  /** RFC 7591 §3.2.2: invalid client metadata (admin API, CLI, registration); `field` names it. */
  invalid_client_metadata: { status: 400, description: 'invalid client metadata' },
  /** RFC 6749 §4.1.2.1 code, used by the console: cross-site request, CSRF failure, client not an admin. */
  access_denied: { status: 403, description: 'access denied' },
  /** OpenID Connect Core §3.1.2.6 code, used by the console: no (valid) session — sign in. */
  login_required: { status: 401, description: 'sign in to the console' },
  /** No such endpoint, client, registration token or file. */
  not_found: { status: 404, description: 'not found' },
  /** Brute-force limits (RFC 6749 §2.3.1): too many failed authentications; see Retry-After. */
  too_many_requests: { status: 429, description: 'too many failed authentication attempts' },
  /** RFC 6749 §5.2 / RFC 7009 §2.2.1: the store is unavailable; retry (Retry-After). */
  temporarily_unavailable: { status: 503, description: 'the service is temporarily unavailable, retry later' },
  /** Anything unexpected. Never carries the cause (that goes to the log). */
  server_error: { status: 500, description: 'internal error' },
} as const satisfies Record<string, { status: number; description: string }>;

export type OAuthErrorCode = keyof typeof ERROR_CATALOG;

export interface OAuthErrorOptions {
  /** Overrides the catalog status (e.g. 405 and 413 are `invalid_request`). */
  status?: number;
  /** Private: logged, never sent. */
  detail?: string;
  headers?: Record<string, string>;
  /** The offending input field (admin API, registration): sent as `field`. */
  field?: string;
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** Public description (the catalog's when the thrower gave none). */
  readonly description: string;
  /** Logged only, never sent. */
  readonly detail: string | undefined;
  readonly field: string | undefined;
  headers: Record<string, string> | undefined;

  constructor(error: OAuthErrorCode, description?: string, opts: OAuthErrorOptions = {}) {
    const desc = description ?? ERROR_CATALOG[error].description;
    super(`${error}: ${desc}`);
    this.name = 'OAuthError';
    this.error = error;
    this.status = opts.status ?? ERROR_CATALOG[error].status;
    this.description = desc;
    this.detail = opts.detail;
    this.field = opts.field;
    this.headers = opts.headers;
  }

  /** Whether the description may be sent as is (client errors and 503); other 5xx become server_error. */
  get expose(): boolean {
    return this.status < 500 || this.error === 'temporarily_unavailable';
  }

  toJSON(): { error: string; error_description: string; field?: string } {
    return this.field === undefined
      ? { error: this.error, error_description: this.description }
      : { error: this.error, error_description: this.description, field: this.field };
  }
}

export const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', description, detail === undefined ? {} : { detail });

/** The single failed-authentication error: unknown client and wrong secret must be indistinguishable. */
export const invalidClient = (detail?: string) =>
  new OAuthError('invalid_client', 'client authentication failed', detail === undefined ? {} : { detail });

export const temporarilyUnavailable = (detail?: string) =>
  new OAuthError('temporarily_unavailable', undefined, {
    ...(detail === undefined ? {} : { detail }),
    headers: { 'retry-after': '1' },
  });

/** 405 with `Allow` (RFC 9110 §15.5.6): the body every path uses for a known path and a wrong method. */
export const methodNotAllowed = (allow: string) =>
  new OAuthError('invalid_request', `method not allowed; use ${allow}`, { status: 405, headers: { allow } });

/** 413: the request body is larger than the limit (one body for every listener). */
export const payloadTooLarge = (limitBytes: number) =>
  new OAuthError('invalid_request', `request body larger than ${limitBytes} bytes`, { status: 413 });

/** 404 for a path no route serves. */
export const noSuchEndpoint = () => new OAuthError('not_found', 'no such endpoint');

/** Thrown by stores when the database cannot be reached; mapped to 503. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A framework-free HTTP response: endpoints return it, the HTTP layer writes it. */
export interface OAuthResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** RFC 6749 §5.1 / §5.2: token and error responses must not be cached. */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): OAuthResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

const SERVER_ERROR_BODY = JSON.stringify({ error: 'server_error', error_description: ERROR_CATALOG.server_error.description });

/**
 * THE error boundary: any thrown value as the response every path sends (token, introspection,
 * revocation, registration, admin API, console, and the HTTP layer's 404/405/413/500):
 * `{error, error_description[, field]}` JSON, `Cache-Control: no-store`, the error's own headers
 * (WWW-Authenticate, Retry-After, Allow, DPoP-Nonce). A store outage is 503 temporarily_unavailable;
 * anything else that is not an exposable OAuthError is a 500 with a fixed body — the caller logs the
 * cause ({@link isUnexpected}), this function never puts it on the wire.
 */
export function toResponse(e: unknown): OAuthResponse {
  if (e instanceof StoreUnavailableError) e = temporarilyUnavailable();
  if (e instanceof OAuthError && e.expose) return jsonResponse(e.status, e.toJSON(), { ...NO_STORE, ...(e.headers ?? {}) });
  return { status: 500, headers: { 'content-type': 'application/json; charset=utf-8', ...NO_STORE }, body: SERVER_ERROR_BODY };
}

/** True for what {@link toResponse} turns into a 500: the caller should log it (with its stack). */
export function isUnexpected(e: unknown): boolean {
  return !(e instanceof StoreUnavailableError) && !(e instanceof OAuthError && e.expose);
}

/** Error text safe for logs: message and code only, never request data. */
export function errSummary(e: unknown): { message: string; code?: string } {
  const err = e as { message?: string; code?: string } | null | undefined;
  return { message: String(err?.message ?? e), ...(err?.code ? { code: err.code } : {}) };
}
