/** RFC 6750 (Bearer token usage) helpers shared by every surface that takes access tokens. */
import { OAuthError } from './errors.js';

export const ADMIN_REALM = 'latchkey-admin';

const quote = (v: string) => `"${v.replace(/["\\]/g, '')}"`;

/** RFC 6750 §3 challenge. Without `error` when the request carried no credentials at all (§3.1). */
export function bearerChallenge(error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request', description?: string, scope?: string, realm = ADMIN_REALM): string {
  let h = `Bearer realm=${quote(realm)}`;
  if (error) h += `, error=${quote(error)}`;
  if (description) h += `, error_description=${quote(description)}`;
  if (scope) h += `, scope=${quote(scope)}`;
  return h;
}

/** 401 invalid_token with its RFC 6750 challenge. The description is fixed per cause; never echoes the token. */
export function invalidToken(description: string, detail?: string, realm = ADMIN_REALM): OAuthError {
  return new OAuthError('invalid_token', description, {
    ...(detail ? { detail } : {}),
    headers: { 'www-authenticate': bearerChallenge('invalid_token', description, undefined, realm), 'cache-control': 'no-store' },
  });
}

/**
 * Extracts the access token from `Authorization: Bearer …` (RFC 6750 §2.1; the scheme is
 * case-insensitive, RFC 9110 §11.1). Tokens in the query or the body (§2.2, §2.3) are not accepted.
 * Returns undefined when the request carries no Authorization header (→ 401 without an error code).
 */
export function bearerToken(authorization: string | string[] | undefined, dpop: string | string[] | undefined, realm = ADMIN_REALM): string | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  if (Array.isArray(authorization)) throw invalidToken('send one Authorization header', undefined, realm);
  const sp = authorization.indexOf(' ');
  const scheme = (sp === -1 ? authorization : authorization.slice(0, sp)).toLowerCase();
  if (scheme === 'dpop') {
    // RFC 9449 §7.1 would need proof checking; the admin API takes Bearer tokens only.
    throw invalidToken('DPoP-bound tokens are not accepted here; use a Bearer token', undefined, realm);
  }
  if (scheme !== 'bearer') throw invalidToken('use the Bearer authentication scheme (RFC 6750 §2.1)', undefined, realm);
  const token = authorization.slice(sp + 1).trim();
  // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token) || token.length > 16_384) throw invalidToken('malformed access token', undefined, realm);
  if (dpop !== undefined) throw invalidToken('a DPoP proof was sent with a Bearer token', undefined, realm);
  return token;
}
