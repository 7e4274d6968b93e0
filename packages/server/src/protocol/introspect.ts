import { OAuthError, StoreUnavailableError, invalidRequest, toResponse } from '../shared/errors.js';
import type { GuardedAuthentication } from '../client-auth/guarded.js';
import type { AuthenticatedClient } from '../client-auth/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { CachedClient, ClientCache } from '../store/client-cache.js';
import { opaqueTokenHash } from '../tokens/mint.js';
import type { OpaqueTokenCache } from '../tokens/opaque-cache.js';
import type { RevocationCache } from '../tokens/revocations.js';
import { looksLikeJwt, type OwnTokenVerifier } from '../tokens/verify-own.js';
import { INTROSPECT_SCOPE } from '../shared/scope.js';
import { OPAQUE_TOKEN_PREFIX as OPAQUE_PREFIX } from '../shared/token-prefixes.js';
import { NO_STORE, parseForm, type FormParams, type OAuthRequest, type OAuthResponse } from '../shared/oauth-request.js';
import type { ProtocolEndpoint } from './endpoint.js';

export const INTROSPECTION_PATH = '/oauth2/introspect';

const NO_REPEATS: ReadonlySet<string> = new Set();

/** An access token this server issued that is still valid in itself (signature or stored record, expiry). */
export interface ResolvedToken {
  format: 'jwt' | 'opaque';
  jti: string;
  client_id: string;
  sub: string;
  scope: string;
  /** As in the token: a string for one audience (RFC 9068 §2.2 style), else an array. */
  aud: string | string[];
  iss: string;
  iat: number;
  exp: number;
  cnf: Record<string, unknown> | undefined;
  token_type: string;
  /** Opaque tokens only: the stored hash (the token itself is never stored). */
  tokenHash?: string;
}

/**
 * Finds a token we issued: a JWT verified against our keyring (tokens/verify-own.ts), or an opaque
 * token looked up by its hash (in this node's opaque-token cache, else the store: tokens/opaque-cache.ts).
 * Returns undefined for anything malformed, unknown, expired, or signed by a key we never had or no
 * longer publish. Does not check revocation of JWTs, the client's status, or who is asking. Throws
 * StoreUnavailableError when an opaque lookup has to and cannot reach the store.
 *
 * `token_type_hint` is not needed: both kinds are access tokens and the format tells them apart. RFC
 * 7662 §2.1 / RFC 7009 §2.1: a server that cannot locate the token with the hint "MUST extend its
 * search across all of its supported token types" — so a hint never changes the answer.
 */
export type TokenResolver = (token: string, nowMs?: number) => Promise<ResolvedToken | undefined>;

export interface TokenResolverDeps {
  readonly issuer: string;
  readonly ownTokens: OwnTokenVerifier;
  readonly opaqueTokens: Pick<OpaqueTokenCache, 'lookup'>;
}

export function tokenResolver(s: TokenResolverDeps): TokenResolver {
  return (token, nowMs) => resolveToken(token, s, nowMs);
}

async function resolveToken(token: string, s: TokenResolverDeps, nowMs = Date.now()): Promise<ResolvedToken | undefined> {
  if (looksLikeJwt(token)) {
    const r = await s.ownTokens.verify(token, nowMs);
    if (!r.ok) return undefined;
    const c = r.claims;
    return {
      format: 'jwt',
      jti: c.jti,
      client_id: c.client_id,
      sub: c.sub,
      scope: c.scope ?? '',
      aud: c.aud,
      iss: c.iss,
      iat: c.iat,
      exp: c.exp,
      cnf: c.cnf,
      // RFC 9449 §6.1 / RFC 8705 §3.1: only a DPoP key binding (jkt) makes the token a DPoP token.
      token_type: c.cnf && typeof c.cnf.jkt === 'string' ? 'DPoP' : 'Bearer',
    };
  }
  if (!token.startsWith(OPAQUE_PREFIX) || token.length > 512) return undefined;
  const hash = opaqueTokenHash(token);
  const rec = await s.opaqueTokens.lookup(hash, nowMs);
  if (!rec || rec.exp <= Math.floor(nowMs / 1000)) return undefined;
  return {
    format: 'opaque',
    jti: rec.jti,
    client_id: rec.client_id,
    sub: rec.client_id,
    scope: rec.scope,
    aud: rec.aud.length === 1 ? rec.aud[0]! : rec.aud,
    iss: s.issuer,
    iat: rec.iat,
    exp: rec.exp,
    cnf: rec.cnf ?? undefined,
    token_type: rec.token_type,
    tokenHash: hash,
  };
}

/**
 * RFC 7662 §4: "the authorization server MUST determine whether or not the protected resource is
 * allowed to introspect the token". Latchkey's rule is SPEC §3's:
 *  - a client may introspect its own tokens;
 *  - a client whose allowed scopes include `latchkey:introspect` (a resource server) may introspect any token.
 * Anyone else learns only `{"active": false}`, exactly as for an unknown token, so the answer does not
 * reveal that the token exists. (A client's `audience` list says what it may *request* tokens for, not
 * which API it is, so it grants no introspection rights.)
 */
export function mayIntrospect(caller: CachedClient, t: ResolvedToken): boolean {
  return caller.record.client_id === t.client_id || caller.allowedScopes.has(INTROSPECT_SCOPE);
}

/**
 * Steps shared by introspection and revocation: form body, no repeated parameter, brute-force limit,
 * client authentication (any method the client is registered with; none → 401 invalid_client), the
 * required `token` parameter.
 */
export async function authenticateTokenRequest(req: OAuthRequest, authenticate: GuardedAuthentication, endpoint: string): Promise<{ params: FormParams; auth: AuthenticatedClient; token: string }> {
  const params = parseForm(req);
  // RFC 6749 §3.2 "Request and response parameters MUST NOT be included more than once" (applies to all endpoints).
  params.rejectRepeated(NO_REPEATS);
  // RFC 7662 §2.1 / RFC 7009 §2.1: the endpoint requires client authentication (behind the brute-force limits).
  const { auth } = await authenticate.authenticate(req, params, endpoint);
  const token = params.get('token');
  // RFC 7662 §2.1 / RFC 7009 §2.1: "token REQUIRED".
  if (token === undefined) throw invalidRequest('token is required');
  return { params, auth, token };
}

/**
 * Maps endpoint failures to responses (shared/errors.ts toResponse): OAuth errors as they are, store
 * outages to 503 (counted); anything else is rethrown for the HTTP layer to log and answer 500.
 */
export function failureResponse(e: unknown, metrics: Pick<Metrics, 'storeErrors'>): OAuthResponse {
  if (e instanceof StoreUnavailableError) metrics.storeErrors.inc();
  else if (!(e instanceof OAuthError)) throw e;
  return toResponse(e);
}

/** What the introspection endpoint works with. */
export interface IntrospectionDeps {
  readonly issuer: string;
  readonly authenticate: GuardedAuthentication;
  readonly resolve: TokenResolver;
  readonly revocations: Pick<RevocationCache, 'has'>;
  readonly clients: Pick<ClientCache, 'get'>;
  readonly metrics: Pick<Metrics, 'introspections' | 'storeErrors'>;
}

const INACTIVE = JSON.stringify({ active: false });
/** Every introspection answer's headers (RFC 7662 §2.2/§4: token data, never cached): one shared, frozen object. */
const HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json; charset=utf-8', ...NO_STORE });

/**
 * The active answer from fragments instead of `JSON.stringify` of an object (issue #16): the same bytes and
 * key order; strings still go through the JSON encoder (a client id may hold any character), the fixed
 * issuer's fragment is encoded once.
 */
export function activeBody(t: ResolvedToken, issuerFragment: string, issuer: string): string {
  const iss = t.iss === issuer ? issuerFragment : `,"iss":${JSON.stringify(t.iss)}`;
  const cnf = t.cnf ? `,"cnf":${JSON.stringify(t.cnf)}` : '';
  return (
    `{"active":true,"scope":${JSON.stringify(t.scope)},"client_id":${JSON.stringify(t.client_id)},"sub":${JSON.stringify(t.sub)}` +
    `,"aud":${JSON.stringify(t.aud)}${iss},"exp":${t.exp},"iat":${t.iat},"jti":${JSON.stringify(t.jti)},"token_type":${JSON.stringify(t.token_type)}${cnf}}`
  );
}

/**
 * POST /oauth2/introspect — RFC 7662 token introspection.
 *
 * Active (RFC 7662 §2.2) means: issued by us and still verifiable (signature with a published key, or
 * a stored opaque record), not expired, not revoked (RFC 7009), and its client still exists and is
 * enabled (disabling or deleting a client deactivates its tokens for introspecting APIs at once). The
 * answer then carries scope, client_id, sub, aud, iss, exp, iat, jti, token_type, and `cnf` for DPoP
 * (RFC 9449 §8) or certificate-bound (RFC 8705 §3.2) tokens. Everything else — including tokens the
 * caller may not see (mayIntrospect) — is exactly `{"active": false}`.
 *
 * Does not check: the token's audience or scope against the caller (that is the API's policy), or the
 * sender constraint (the API checks the DPoP proof / certificate against `cnf`).
 */
export function introspectionEndpoint(d: IntrospectionDeps): ProtocolEndpoint {
  const { authenticate, resolve, revocations, clients, metrics } = d;
  const issuerFragment = `,"iss":${JSON.stringify(d.issuer)}`;
  return {
    path: INTROSPECTION_PATH,
    // RFC 8414 §2: introspection_endpoint and the auth methods it accepts (the token endpoint's authenticators).
    metadata: {
      introspection_endpoint: `${d.issuer}${INTROSPECTION_PATH}`,
      introspection_endpoint_auth_methods_supported: [...authenticate.methods],
    },
    handle: async (req) => {
      try {
        const { auth, token } = await authenticateTokenRequest(req, authenticate, 'introspect');
        const now = Date.now();
        const t = await resolve(token, now);
        let active = t !== undefined;
        if (t && t.format === 'jwt' && revocations.has(t.jti)) active = false;
        if (t && active) {
          const owner = clients.get(t.client_id);
          if (!owner || owner.record.disabled) active = false;
        }
        if (t && active && !mayIntrospect(auth.client, t)) active = false;
        metrics.introspections.inc({ active: String(active) });
        // RFC 7662 §2.2 (and §4): the response carries token data, so it must not be cached.
        if (!t || !active) return { status: 200, headers: HEADERS, body: INACTIVE };
        return { status: 200, headers: HEADERS, body: activeBody(t, issuerFragment, d.issuer) };
      } catch (e) {
        return failureResponse(e, metrics);
      }
    },
  };
}

