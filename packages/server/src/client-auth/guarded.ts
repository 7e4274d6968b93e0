import { OAuthError } from '../shared/errors.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { FailureLimiter } from '../limits/failure-limiter.js';
import type { Metrics } from '../ops/metrics.js';
import type { TokenEndpointAuthMethod } from '../store/types.js';
import { peekBasicClientId } from './client-secret.js';
import type { ClientAuthentication } from './index.js';
import type { AuthenticatedClient } from './types.js';

const tooMany = (wait: number) =>
  new OAuthError('too_many_requests', 'too many failed authentication attempts', { headers: { 'retry-after': String(wait) } });

/** Client authentication behind the brute-force limits, as every endpoint that authenticates clients uses it. */
export interface GuardedAuthentication {
  /** The enabled methods and their metadata (the same authenticators that `authenticate` tries). */
  readonly methods: ClientAuthentication['methods'];
  readonly metadata: ClientAuthentication['metadata'];
  authenticate(
    req: OAuthRequest,
    params: FormParams,
    endpoint: string,
    claimedClientId?: string | undefined,
  ): Promise<{ auth: AuthenticatedClient; claimedClientId: string | undefined }>;
}

/**
 * Client authentication behind the brute-force limits (RFC 6749 §2.3.1), for every endpoint that
 * authenticates clients (token, introspection, revocation): refuse blocked addresses before any
 * credential is checked, count failures, and turn failures into 429 once a client's budget is spent.
 * `claimedClientId` (body client_id or Basic user) keys the limits; it is not trusted for anything else.
 */
export function guardedAuthentication(o: {
  authentication: ClientAuthentication;
  limiter: FailureLimiter;
  metrics: Pick<Metrics, 'rateLimited' | 'authFailures'>;
}): GuardedAuthentication {
  const { authentication, limiter, metrics } = o;
  return {
    methods: authentication.methods as readonly TokenEndpointAuthMethod[],
    metadata: authentication.metadata,
    async authenticate(req, params, endpoint, claimedClientId = params.get('client_id') ?? peekBasicClientId(req)) {
      const wait = await limiter.blocked(req.remoteAddress, claimedClientId);
      if (wait > 0) {
        metrics.rateLimited.inc({ endpoint });
        throw tooMany(wait);
      }
      try {
        return { auth: await authentication.authenticate(req, params), claimedClientId };
      } catch (e) {
        if (e instanceof OAuthError && e.error === 'invalid_client') {
          metrics.authFailures.inc();
          const w = await limiter.fail(req.remoteAddress, claimedClientId);
          if (w > 0) {
            metrics.rateLimited.inc({ endpoint });
            throw tooMany(w);
          }
        }
        throw e;
      }
    },
  };
}
