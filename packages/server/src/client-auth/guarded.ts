import { invalidClient, OAuthError } from '../shared/errors.js';
import { header, type FormParams, type OAuthRequest } from '../shared/oauth-request.js';
import { isClientIdSyntax, type FailureLimiter } from '../limits/failure-limiter.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClientCache } from '../store/client-cache.js';
import { basicChallenge } from './client-secret.js';
import type { ClientAuthentication } from './index.js';
import type { AuthenticatedClient } from './types.js';

/** The 429 of the limits: the OAuth error shape, `Retry-After`, never cached (toResponse adds no-store). */
const tooMany = (wait: number) =>
  new OAuthError('too_many_requests', 'too many failed authentication attempts', { headers: { 'retry-after': String(wait) } });

/** Longest client assertion whose payload is peeked for its `sub` (the assertion path's own bound is 8 KiB). */
const PEEK_ASSERTION_MAX = 16_384;

/**
 * The client id the request's credentials name, unchecked and unverified — the one the limits and logs
 * use (SPEC §5), not a decoy: HTTP Basic → its user name (a body `client_id` does not count); a client
 * assertion signed by the client itself (`iss` = `sub`) → its `sub`; otherwise the body `client_id`
 * (client_secret_post, mutual TLS, a federated assertion that names its client). `undefined` when the
 * request names none. `basic` tells whether the credentials are HTTP Basic (for the 401 challenge).
 */
export function presentedClientId(req: OAuthRequest, params: FormParams): { id: string | undefined; basic: boolean } {
  const h = header(req, 'authorization');
  if (h !== undefined) return { id: basicUser(h), basic: true };
  const assertion = params.get('client_assertion');
  if (assertion !== undefined && assertion.length <= PEEK_ASSERTION_MAX) {
    const sub = selfSignedSubject(assertion);
    if (sub !== undefined && isClientIdSyntax(sub)) return { id: sub, basic: false };
  }
  return { id: params.get('client_id'), basic: false };
}

/** The presented client id when it has the client-id syntax (safe to log and to key), else undefined. */
export function credentialClientId(req: OAuthRequest, params: FormParams): string | undefined {
  const { id } = presentedClientId(req, params);
  return id !== undefined && isClientIdSyntax(id) ? id : undefined;
}

function basicUser(h: string): string | undefined {
  if (h.length > 4096) return undefined;
  const m = /^basic +([A-Za-z0-9+/=_-]*) *$/i.exec(h);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function selfSignedSubject(jwt: string): string | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const p: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    if (typeof p !== 'object' || p === null) return undefined;
    const { iss, sub } = p as { iss?: unknown; sub?: unknown };
    return typeof sub === 'string' && iss === sub ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Client authentication behind the brute-force limits, as every endpoint that authenticates clients uses it. */
export interface GuardedAuthentication {
  /** The enabled methods and their metadata (the same authenticators that `authenticate` tries). */
  readonly methods: ClientAuthentication['methods'];
  readonly metadata: ClientAuthentication['metadata'];
  /**
   * Authenticates the caller. The limits are keyed by the id the credentials name
   * ({@link presentedClientId}); `_claimedClientId` is accepted for older callers and ignored.
   */
  authenticate(
    req: OAuthRequest,
    params: FormParams,
    endpoint: string,
    _claimedClientId?: string,
  ): Promise<{ auth: AuthenticatedClient; claimedClientId: string | undefined }>;
}

/**
 * Client authentication behind the failed-authentication limits (SPEC §5, RFC 6749 §2.3.1), for every
 * endpoint that authenticates clients (token, introspection, revocation — and the console sign-in,
 * which goes through the token endpoint):
 * 1. a presented id without the client-id syntax is `invalid_client` at once — never a key, never logged;
 * 2. an id this node does not know is looked up in the store once (read-through, {@link ClientCache.lookup}),
 *    so a client created through another worker or node works at once — also from a blocked address;
 * 3. the pre-check: 429 before any credential check only for an over-budget (address, known client id),
 *    or an over-budget address naming an *unknown* id (spraying);
 * 4. failures are counted per (address, id) and per id (known ids) or per address (unknown ids); over
 *    budget a failure is 429 instead of 401 — correct credentials still succeed.
 */
export function guardedAuthentication(o: {
  authentication: ClientAuthentication;
  limiter: FailureLimiter;
  clients: Pick<ClientCache, 'lookup' | 'equalizeFailure'>;
  issuer: string;
  metrics: Pick<Metrics, 'rateLimited' | 'authFailures'>;
}): GuardedAuthentication {
  const { authentication, limiter, metrics, clients } = o;
  const challenge = basicChallenge(o.issuer);
  const refuse = async (req: OAuthRequest, endpoint: string, id: string | undefined, known: boolean, e: OAuthError): Promise<never> => {
    metrics.authFailures.inc();
    // An unknown id cost a store read in the read-through above; a known one's failure does the same read.
    if (known && id !== undefined) await clients.equalizeFailure(id);
    const w = await limiter.fail(req.remoteAddress, id, known);
    if (w > 0) {
      metrics.rateLimited.inc({ endpoint });
      throw tooMany(w);
    }
    throw e;
  };
  return {
    methods: authentication.methods,
    metadata: authentication.metadata,
    async authenticate(req, params, endpoint) {
      const { id: presented, basic } = presentedClientId(req, params);
      if (presented !== undefined && !isClientIdSyntax(presented)) {
        // Counted against the address (the unknown-id budget), never keyed by the value itself.
        const e = invalidClient('presented client id does not have the client-id syntax');
        if (basic) e.headers = { ...(e.headers ?? {}), ...challenge };
        return refuse(req, endpoint, undefined, false, e);
      }
      const id = presented;
      let known = false;
      if (id !== undefined) {
        // Read-through first: a client just created elsewhere is known here, so a spraying neighbour's
        // block never refuses it (one primary-key lookup per id, single flight, negative-cached).
        known = (await clients.lookup(id)) !== undefined;
        // The pre-check: (address, known id), or an address spraying unknown ids. A request naming no id
        // (a federated assertion without client_id) is never refused before its credentials are checked.
        const wait = await limiter.blocked(req.remoteAddress, id, known);
        if (wait > 0) {
          metrics.rateLimited.inc({ endpoint });
          throw tooMany(wait);
        }
      }
      try {
        return { auth: await authentication.authenticate(req, params), claimedClientId: id };
      } catch (e) {
        if (e instanceof OAuthError && e.error === 'invalid_client') return refuse(req, endpoint, id, known, e);
        throw e;
      }
    },
  };
}
