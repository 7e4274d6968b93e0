import { OAuthError } from './errors.js';

// RFC 6749 §3.3: scope-token = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
export const MAX_SCOPES = 100;

export function parseScope(s: string, errorCode: 'invalid_scope' | 'invalid_request' = 'invalid_scope'): string[] {
  const parts = s.split(' ');
  if (parts.length > MAX_SCOPES) throw new OAuthError(errorCode, `too many scope values (at most ${MAX_SCOPES})`);
  const out: string[] = [];
  for (const p of parts) {
    if (p === '') continue; // tolerate doubled spaces
    if (!SCOPE_TOKEN.test(p)) throw new OAuthError(errorCode, 'malformed scope value');
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

export function isValidScopeToken(s: string): boolean {
  return SCOPE_TOKEN.test(s);
}

/** Scope that admits a token to the admin API (SPEC §3). */
export const ADMIN_SCOPE = 'latchkey:admin';
/** Scope that lets a resource server introspect any token (SPEC §3). */
export const INTROSPECT_SCOPE = 'latchkey:introspect';
/** Scopes with this prefix belong to Latchkey itself: dynamic registration never grants them. */
export const RESERVED_SCOPE_PREFIX = 'latchkey:';
