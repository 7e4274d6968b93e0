import { timingSafeEqual } from 'node:crypto';
import { OAuthError } from '../errors.js';
import { ADMIN_SCOPE_NAME } from './scopes.js';
import type { Services } from '../services.js';
import { opaqueTokenHash } from '../tokens/mint.js';
import { createResourceServer, type ResourceServer } from '@latchkey/resource';

/** The caller of an admin route, as established by its access token. */
export interface AdminPrincipal {
  clientId: string;
  scopes: ReadonlySet<string>;
  jti: string;
  /** Token expiry, epoch seconds. */
  exp: number;
}

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

const verifiers = new WeakMap<Services, ResourceServer>();

/**
 * The project's own `@latchkey/resource` verifier, pointed at this server: RFC 9068 §4 checks
 * (typ at+jwt, alg of a published key, iss, exp with no clock tolerance — it is our own clock —, aud =
 * the issuer). Its JWKS "fetch" is answered in process from the keyring, so no HTTP round trip and
 * no dependency on our own listener; unknown kids re-read the keyring's JWKS at most once a second.
 */
function selfVerifier(s: Services): ResourceServer {
  let rs = verifiers.get(s);
  if (!rs) {
    const jwksUri = `${s.config.issuer}/.well-known/jwks.json`;
    rs = createResourceServer({
      issuer: s.config.issuer,
      audience: s.config.issuer,
      discovery: false,
      jwksUri,
      clockTolerance: 0,
      dpop: false,
      jwks: { cooldown: 1, maxAge: 60 },
      fetch: async (url) => {
        if (String(url) !== jwksUri) return new Response('not found', { status: 404 });
        return new Response(s.keyring.jwksJson(), { status: 200, headers: { 'content-type': 'application/jwk-set+json' } });
      },
    });
    verifiers.set(s, rs);
  }
  return rs;
}

/**
 * Authenticates an admin API call: the Bearer access token must have been issued by this server
 * (RFC 9068 JWT verified by `@latchkey/resource` against our own JWKS, or one of our opaque reference tokens),
 * be unexpired and unrevoked, name the issuer as an audience (SPEC §3: "Latchkey's own admin API is
 * the resource named by the issuer"), belong to a client that still exists and is enabled, carry no
 * sender constraint (`cnf`: a bound token presented as Bearer is refused, RFC 9449 §7.2 / RFC 8705 §3),
 * and hold `latchkey:admin` (else 403 insufficient_scope, RFC 6750 §3.1).
 *
 * Does not check: DPoP or mTLS proofs (bound tokens are refused instead); the client's current scope
 * list (a token keeps the scope it was minted with until it expires or is revoked).
 */
export async function authenticateAdmin(s: Services, authorization: string | string[] | undefined, dpop: string | string[] | undefined, requiredScope = ADMIN_SCOPE_NAME): Promise<AdminPrincipal> {
  const token = bearerToken(authorization, dpop);
  if (token === undefined) {
    throw new OAuthError('invalid_token', 'an access token with scope latchkey:admin is required', {
      headers: { 'www-authenticate': bearerChallenge(), 'cache-control': 'no-store' },
    });
  }
  let p: { clientId: string; aud: string[]; scope: string; jti: string; exp: number; cnf: unknown };
  if (token.startsWith('lko_')) {
    const rec = await s.store.getOpaqueToken(opaqueTokenHash(token));
    // The lookup is by hash; compare again in constant time so a hash-index hit is all that matters.
    if (!rec || !timingSafeEqual(Buffer.from(rec.token_hash), Buffer.from(opaqueTokenHash(token)))) throw invalidToken('the access token is not valid', 'unknown opaque token');
    if (rec.exp <= Math.floor(Date.now() / 1000)) throw invalidToken('the access token is not valid', 'expired');
    p = { clientId: rec.client_id, aud: rec.aud, scope: rec.scope, jti: rec.jti, exp: rec.exp, cnf: rec.cnf ?? undefined };
  } else {
    let c: Record<string, unknown>;
    try {
      c = (await selfVerifier(s).verify(token)).claims as Record<string, unknown>;
    } catch (e) {
      throw invalidToken('the access token is not valid', (e as { code?: string }).code ?? 'verify failed');
    }
    if (typeof c.client_id !== 'string' || typeof c.jti !== 'string' || typeof c.exp !== 'number' || (c.scope !== undefined && typeof c.scope !== 'string')) {
      throw invalidToken('the access token is not valid', 'claims');
    }
    p = { clientId: c.client_id, aud: Array.isArray(c.aud) ? (c.aud as string[]) : [c.aud as string], scope: (c.scope as string | undefined) ?? '', jti: c.jti, exp: c.exp, cnf: c.cnf };
    // RFC 7009 revocations reach every node through the change feed into this in-memory set.
    if (s.revocations.has(c.jti)) throw invalidToken('the access token is not valid', 'revoked');
  }
  // RFC 9068 §4: the resource server MUST validate that aud contains a value it expects (here: the issuer).
  if (!p.aud.includes(s.config.issuer)) throw invalidToken('the access token is not valid', 'audience is not the issuer');
  // RFC 9449 §7.2: a DPoP-bound token must not be accepted as a Bearer token (same for certificate-bound ones).
  if (p.cnf !== undefined && p.cnf !== null) throw invalidToken('sender-constrained tokens are not accepted by the admin API', 'token has cnf');
  const client = s.clients.get(p.clientId) ?? (await s.clients.refresh(p.clientId), s.clients.get(p.clientId));
  if (!client || client.record.disabled) throw invalidToken('the access token is not valid', 'client missing or disabled');
  const scopes = new Set(p.scope.split(' ').filter(Boolean));
  if (!scopes.has(requiredScope)) {
    throw new OAuthError('insufficient_scope', `the access token lacks scope ${requiredScope}`, {
      headers: { 'www-authenticate': bearerChallenge('insufficient_scope', `the access token lacks scope ${requiredScope}`, requiredScope), 'cache-control': 'no-store' },
    });
  }
  return { clientId: p.clientId, scopes, jti: p.jti, exp: p.exp };
}
