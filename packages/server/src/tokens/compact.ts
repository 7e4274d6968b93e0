import { isCanonicalCompactJws as coreIsCanonical } from '@latchkey/jose-core';

/**
 * Strict compact JWS syntax (RFC 7515 §7.1 with RFC 7515 §2 base64url: no padding, no other alphabet):
 * three segments, each the *canonical* base64url of its bytes — `@latchkey/jose-core`'s one check.
 * Decoders are lenient (padding, unused trailing bits), so without this check one signed JWT has many
 * spellings that all verify. Callers bound the length themselves.
 */
export function isCanonicalCompactJws(s: string): boolean {
  return coreIsCanonical(s, Number.MAX_SAFE_INTEGER);
}

/** Header parameters that point at keys elsewhere (RFC 8725 §3.10): never followed, so refused outright. */
export { KEY_LOCATING_HEADERS } from '@latchkey/jose-core';
