import { OAuthError } from '../shared/errors.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { Services } from '../services.js';
import { peekBasicClientId } from './client-secret.js';
import { authenticateClient } from './index.js';
import type { AuthenticatedClient } from './types.js';

const tooMany = (wait: number) =>
  new OAuthError('too_many_requests', 'too many failed authentication attempts', { headers: { 'retry-after': String(wait) } });

/**
 * Client authentication behind the brute-force limits (RFC 6749 §2.3.1), for every endpoint that
 * authenticates clients (token, introspection, revocation): refuse blocked addresses before any
 * credential is checked, count failures, and turn failures into 429 once a client's budget is spent.
 * `claimedClientId` (body client_id or Basic user) keys the limits; it is not trusted for anything else.
 */
export async function authenticateGuarded(
  req: OAuthRequest,
  params: FormParams,
  s: Services,
  endpoint: string,
  claimedClientId: string | undefined = params.get('client_id') ?? peekBasicClientId(req),
): Promise<{ auth: AuthenticatedClient; claimedClientId: string | undefined }> {
  const wait = await s.limiter.blocked(req.remoteAddress, claimedClientId);
  if (wait > 0) {
    s.metrics.rateLimited.inc({ endpoint });
    throw tooMany(wait);
  }
  try {
    return { auth: await authenticateClient(req, params, s), claimedClientId };
  } catch (e) {
    if (e instanceof OAuthError && e.error === 'invalid_client') {
      s.metrics.authFailures.inc();
      const w = await s.limiter.fail(req.remoteAddress, claimedClientId);
      if (w > 0) {
        s.metrics.rateLimited.inc({ endpoint });
        throw tooMany(w);
      }
    }
    throw e;
  }
}
