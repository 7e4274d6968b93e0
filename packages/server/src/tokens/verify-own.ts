import { errors as joseErrors, jwtVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Keyring } from '../keys/keyring.js';

/** Stable failure codes (jose-style) callers can switch on; never shown to API callers. */
export type OwnTokenErrorCode =
  | 'ERR_OWN_TOKEN_MALFORMED'
  | 'ERR_OWN_TOKEN_UNKNOWN_KEY'
  | 'ERR_OWN_TOKEN_SIGNATURE'
  | 'ERR_OWN_TOKEN_EXPIRED'
  | 'ERR_OWN_TOKEN_CLAIMS';

/** The RFC 9068 §2.2 claims of an access token this server minted. */
export interface OwnTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  client_id: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  scope?: string;
  cnf?: Record<string, string>;
}

export type OwnTokenResult = { ok: true; claims: OwnTokenClaims; kid: string } | { ok: false; code: OwnTokenErrorCode };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Cheap syntactic test: three base64url segments (RFC 7515 §7.1 compact serialization). */
export function looksLikeJwt(token: string): boolean {
  return token.length <= 16_384 && JWT_SHAPE.test(token);
}

/** A kid we do not hold triggers at most one keyring reload per this interval (no reload storms from forged kids). */
const UNKNOWN_KID_RELOAD_MS = 1000;

/** Verifies the access tokens of one server (its keyring and issuer); built once by the composition root. */
export interface OwnTokenVerifier {
  verify(token: string, nowMs?: number): Promise<OwnTokenResult>;
}

export function ownTokenVerifier(keyring: Keyring, issuer: string): OwnTokenVerifier {
  // This verifier's unknown-kid reload throttle (one per UNKNOWN_KID_RELOAD_MS, single-flight).
  let at = 0;
  let inflight: Promise<void> | undefined;
  const reloadOnce = async (): Promise<void> => {
    if (inflight) return inflight;
    if (Date.now() - at < UNKNOWN_KID_RELOAD_MS) return;
    at = Date.now();
    inflight = keyring.load().finally(() => (inflight = undefined));
    return inflight;
  };
  return { verify: (token, nowMs = Date.now()) => verifyOwnToken(token, keyring, issuer, nowMs, reloadOnce) };
}

/**
 * Verifies an access token this server issued (RFC 9068 §4 as applied by the issuer itself): compact
 * JWS, `typ` `at+jwt`, signed with a key of our keyring that is still published (a key we never had,
 * or one dropped from the JWKS, fails), `alg` equal to that key's algorithm (no `none`, no algorithm
 * substitution), `iss` equal to our issuer, `exp` in the future with no clock tolerance (it is our
 * own clock), and the claims Latchkey always writes present with the right types.
 *
 * Does NOT check: revocation (see RevocationCache), whether the client still exists or is enabled,
 * audience or scope, or sender constraints (`cnf`) — the caller decides those.
 *
 * @example
 * const r = await ownTokenVerifier(keyring, issuer).verify(token);
 * if (r.ok) console.log(r.claims.client_id);
 */
async function verifyOwnToken(token: string, keyring: Keyring, issuer: string, nowMs: number, reloadOnce: () => Promise<void>): Promise<OwnTokenResult> {
  if (!looksLikeJwt(token)) return { ok: false, code: 'ERR_OWN_TOKEN_MALFORMED' };
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return { ok: false, code: 'ERR_OWN_TOKEN_MALFORMED' };
  }
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 200) return { ok: false, code: 'ERR_OWN_TOKEN_UNKNOWN_KEY' };
  let key = keyring.publicKey(kid, nowMs);
  if (!key) {
    // Another node may have published a key moments ago (pre-publication 0): look once more.
    await reloadOnce().catch(() => {});
    key = keyring.publicKey(kid, nowMs);
    if (!key) return { ok: false, code: 'ERR_OWN_TOKEN_UNKNOWN_KEY' };
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key.key, {
      // RFC 9068 §4: "Resource servers MUST verify that the typ header value is at+jwt".
      typ: 'at+jwt',
      algorithms: [key.alg],
      issuer,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'aud'],
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) return { ok: false, code: 'ERR_OWN_TOKEN_EXPIRED' };
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) return { ok: false, code: 'ERR_OWN_TOKEN_SIGNATURE' };
    if (e instanceof joseErrors.JWTClaimValidationFailed || e instanceof joseErrors.JOSEAlgNotAllowed) return { ok: false, code: 'ERR_OWN_TOKEN_CLAIMS' };
    return { ok: false, code: 'ERR_OWN_TOKEN_MALFORMED' };
  }
  const p = payload as Record<string, unknown>;
  const audOk = typeof p.aud === 'string' || (Array.isArray(p.aud) && p.aud.length > 0 && p.aud.every((a) => typeof a === 'string'));
  if (
    typeof p.sub !== 'string' ||
    typeof p.client_id !== 'string' ||
    typeof p.jti !== 'string' ||
    typeof p.exp !== 'number' ||
    typeof p.iat !== 'number' ||
    !audOk ||
    (p.scope !== undefined && typeof p.scope !== 'string') ||
    (p.cnf !== undefined && (typeof p.cnf !== 'object' || p.cnf === null || Array.isArray(p.cnf)))
  ) {
    return { ok: false, code: 'ERR_OWN_TOKEN_CLAIMS' };
  }
  return { ok: true, claims: p as OwnTokenClaims, kid };
}
