/**
 * Strict compact JWS syntax (RFC 7515 §7.1 with RFC 7515 §2 base64url: no padding, no other alphabet):
 * three segments, each the *canonical* base64url of its bytes. Decoders are lenient (padding, unused
 * trailing bits), so without this check one signed JWT has many spellings that all verify — harmless for
 * replay (the jti is inside), but an attacker-controlled malleability we have no reason to accept.
 */
const B64URL = /^[A-Za-z0-9_-]*$/;

export function isCanonicalCompactJws(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 3) return false;
  for (const p of parts) {
    if (!B64URL.test(p) || p.length % 4 === 1) return false;
    if (Buffer.from(p, 'base64url').toString('base64url') !== p) return false;
  }
  return true;
}

/** Header parameters that point at keys elsewhere (RFC 8725 §3.10): never followed, so refused outright. */
export const KEY_LOCATING_HEADERS = ['jku', 'x5u', 'x5c', 'jwk'] as const;
