import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Keyring } from '../keys/keyring.js';

/**
 * Verifies a JWT access token this server minted (RFC 9068 §4 applied by the issuer to itself):
 * `typ` at+jwt, a `kid` of a key our keyring still publishes, `alg` equal to that key's algorithm
 * (no `none`, no substitution), `iss` = our issuer, unexpired (our own clock: no tolerance), and the
 * claims Latchkey always writes. Returns undefined on any failure, with the reason for logs.
 *
 * Does NOT check audience, scope, revocation, the client's state, or `cnf` — the caller does.
 * (Kept local to the admin API; tokens/verify-own.ts, when committed, offers the same check.)
 */
export async function verifyOwnJwt(
  token: string,
  keyring: Keyring,
  issuer: string,
): Promise<{ ok: true; claims: JWTPayload & { client_id: string; jti: string; exp: number; aud: string | string[]; scope?: string; cnf?: unknown } } | { ok: false; code: string }> {
  if (token.length > 16_384 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return { ok: false, code: 'ERR_OWN_TOKEN_MALFORMED' };
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return { ok: false, code: 'ERR_OWN_TOKEN_MALFORMED' };
  }
  const key = typeof kid === 'string' ? keyring.publicKey(kid) : undefined;
  if (!key) return { ok: false, code: 'ERR_OWN_TOKEN_UNKNOWN_KEY' };
  try {
    const { payload } = await jwtVerify(token, key.key, {
      // RFC 9068 §4: "Resource servers MUST verify that the typ header value is at+jwt".
      typ: 'at+jwt',
      algorithms: [key.alg],
      issuer,
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'aud'],
    });
    const p = payload as Record<string, unknown>;
    if (typeof p.client_id !== 'string' || typeof p.jti !== 'string' || (p.scope !== undefined && typeof p.scope !== 'string')) return { ok: false, code: 'ERR_OWN_TOKEN_CLAIMS' };
    return { ok: true, claims: payload as never };
  } catch (e) {
    return { ok: false, code: (e as { code?: string }).code ?? 'ERR_OWN_TOKEN_INVALID' };
  }
}
