import { timingSafeEqual } from 'node:crypto';
import { OAuthError, StoreUnavailableError } from '../shared/errors.js';
import { bearerChallenge, bearerToken, invalidToken } from '../shared/bearer.js';
import { OPAQUE_TOKEN_PREFIX } from '../shared/token-prefixes.js';
import { ADMIN_SCOPE } from '../shared/scope.js';
import type { Keyring } from '../keys/keyring.js';
import type { ClientCache } from '../store/client-cache.js';
import type { Store } from '../store/store.js';
import type { ClientRecord } from '../store/types.js';
import type { RevocationCache } from '../tokens/revocations.js';
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

/** What admin authentication works with. */
export interface AdminAuthDeps {
  readonly issuer: string;
  readonly keyring: Pick<Keyring, 'jwksJson'>;
  readonly store: Pick<Store, 'getOpaqueToken' | 'getClient'>;
  readonly revocations: Pick<RevocationCache, 'has'>;
  readonly clients: Pick<ClientCache, 'get' | 'refresh'>;
}

/**
 * The project's own `@latchkey/resource` verifier, pointed at this server: RFC 9068 §4 checks
 * (typ at+jwt, alg of a published key, iss, exp with no clock tolerance — it is our own clock —, aud =
 * the issuer). Its JWKS "fetch" is answered in process from the keyring, so no HTTP round trip and
 * no dependency on our own listener; unknown kids re-read the keyring's JWKS at most once a second.
 */
function selfVerifier(s: AdminAuthDeps): ResourceServer {
  const jwksUri = `${s.issuer}/.well-known/jwks.json`;
  return createResourceServer({
    issuer: s.issuer,
    audience: s.issuer,
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
}

/** Authenticates admin API callers (and console sessions); one per server, built by the composition root. */
export interface AdminAuthenticator {
  authenticate(authorization: string | string[] | undefined, dpop: string | string[] | undefined, requiredScope?: string): Promise<AdminPrincipal>;
}

export function adminAuthenticator(s: AdminAuthDeps): AdminAuthenticator {
  const verifier = selfVerifier(s);
  return { authenticate: (authorization, dpop, requiredScope) => authenticateAdmin(s, verifier, authorization, dpop, requiredScope) };
}

/**
 * Authenticates an admin API call: the Bearer access token must have been issued by this server
 * (RFC 9068 JWT verified by `@latchkey/resource` against our own JWKS, or one of our opaque reference tokens),
 * be unexpired and unrevoked, name the issuer as an audience (SPEC §3: "Latchkey's own admin API is
 * the resource named by the issuer"), belong to a client that still exists and is enabled, carry no
 * sender constraint (`cnf`: a bound token presented as Bearer is refused, RFC 9449 §7.2 / RFC 8705 §3),
 * and hold `latchkey:admin` (else 403 insufficient_scope, RFC 6750 §3.1).
 *
 * The token's scopes are intersected with the client's *current* scope list, read from the store
 * (issue #14: removing `latchkey:admin` from a client takes effect for its issued tokens at once), and a
 * token issued before the client was created is refused (a deleted client's tokens must not come back
 * when its id is reused). The store is the source of truth here; while it is unreachable the node's
 * client cache answers.
 *
 * Does not check: DPoP or mTLS proofs (bound tokens are refused instead).
 */
/** The client as the store has it now; the cache only while the store is unreachable. */
async function currentClient(s: AdminAuthDeps, clientId: string): Promise<ClientRecord | undefined> {
  try {
    return await s.store.getClient(clientId);
  } catch (e) {
    if (!(e instanceof StoreUnavailableError)) throw e;
    return s.clients.get(clientId)?.record;
  }
}

async function authenticateAdmin(s: AdminAuthDeps, verifier: ResourceServer, authorization: string | string[] | undefined, dpop: string | string[] | undefined, requiredScope = ADMIN_SCOPE): Promise<AdminPrincipal> {
  const token = bearerToken(authorization, dpop);
  if (token === undefined) {
    throw new OAuthError('invalid_token', 'an access token with scope latchkey:admin is required', {
      headers: { 'www-authenticate': bearerChallenge(), 'cache-control': 'no-store' },
    });
  }
  let p: { clientId: string; aud: string[]; scope: string; jti: string; exp: number; iat: number | undefined; cnf: unknown };
  if (token.startsWith(OPAQUE_TOKEN_PREFIX)) {
    const rec = await s.store.getOpaqueToken(opaqueTokenHash(token));
    // The lookup is by hash; compare again in constant time so a hash-index hit is all that matters.
    if (!rec || !timingSafeEqual(Buffer.from(rec.token_hash), Buffer.from(opaqueTokenHash(token)))) throw invalidToken('the access token is not valid', 'unknown opaque token');
    if (rec.exp <= Math.floor(Date.now() / 1000)) throw invalidToken('the access token is not valid', 'expired');
    p = { clientId: rec.client_id, aud: rec.aud, scope: rec.scope, jti: rec.jti, exp: rec.exp, iat: rec.iat, cnf: rec.cnf ?? undefined };
  } else {
    let c: Record<string, unknown>;
    try {
      c = (await verifier.verify(token)).claims;
    } catch (e) {
      throw invalidToken('the access token is not valid', (e as { code?: string }).code ?? 'verify failed');
    }
    if (typeof c.client_id !== 'string' || typeof c.jti !== 'string' || typeof c.exp !== 'number' || (c.scope !== undefined && typeof c.scope !== 'string')) {
      throw invalidToken('the access token is not valid', 'claims');
    }
    p = {
      clientId: c.client_id,
      aud: Array.isArray(c.aud) ? (c.aud as string[]) : [c.aud as string],
      scope: c.scope ?? '',
      jti: c.jti,
      exp: c.exp,
      iat: typeof c.iat === 'number' ? c.iat : undefined,
      cnf: c.cnf,
    };
    // RFC 7009 revocations reach every node through the change feed into this in-memory set.
    if (s.revocations.has(c.jti)) throw invalidToken('the access token is not valid', 'revoked');
  }
  // RFC 9068 §4: the resource server MUST validate that aud contains a value it expects (here: the issuer).
  if (!p.aud.includes(s.issuer)) throw invalidToken('the access token is not valid', 'audience is not the issuer');
  // RFC 9449 §7.2: a DPoP-bound token must not be accepted as a Bearer token (same for certificate-bound ones).
  if (p.cnf !== undefined && p.cnf !== null) throw invalidToken('sender-constrained tokens are not accepted by the admin API', 'token has cnf');
  const client = await currentClient(s, p.clientId);
  if (!client || client.disabled) throw invalidToken('the access token is not valid', 'client missing or disabled');
  // Our tokens always carry iat (RFC 9068 §2.2); one minted before this client existed belonged to an
  // earlier client with the same id. Seconds: the token's iat is floor(ms / 1000).
  if (p.iat === undefined || p.iat < Math.floor(client.created_at / 1000)) throw invalidToken('the access token is not valid', 'issued before the client was created');
  const allowed = new Set(client.scope.split(' ').filter(Boolean));
  const scopes = new Set(p.scope.split(' ').filter((x) => x && allowed.has(x)));
  if (!scopes.has(requiredScope)) {
    throw new OAuthError('insufficient_scope', `the access token lacks scope ${requiredScope}`, {
      headers: { 'www-authenticate': bearerChallenge('insufficient_scope', `the access token lacks scope ${requiredScope}`, requiredScope), 'cache-control': 'no-store' },
    });
  }
  return { clientId: p.clientId, scopes, jti: p.jti, exp: p.exp };
}
