import { postEndpointOf, routeInstallers } from '../http/server.js';
import type { Services } from '../services.js';
import { authenticateTokenRequest, enabledAuthMethods, failureResponse, resolveToken } from './introspect.js';
import { metadataContributors } from './metadata.js';
import { NO_STORE, type OAuthRequest, type OAuthResponse } from '../shared/oauth-request.js';

const DONE: OAuthResponse = { status: 200, headers: { ...NO_STORE }, body: '' };

/**
 * POST /oauth2/revoke — RFC 7009 token revocation.
 *
 * Steps: form body → client authentication (none → 401) → `token` required → resolve the token →
 * revoke it if the caller owns it. Opaque tokens are deleted, so they are dead at once on every node
 * (introspection reads the store). JWTs cannot be recalled: their `jti` is recorded until `exp`, every
 * node learns of it through the change feed within its poll interval, and introspection then answers
 * `active: false`. APIs that verify JWTs locally do NOT see revocations; they rely on short lifetimes
 * or introspection (docs/rotation.md).
 *
 * The answer is `200` for unknown, malformed, expired or foreign tokens alike (RFC 7009 §2.2), so the
 * response reveals nothing. A revocation that could not be stored is `503 temporarily_unavailable`,
 * never a `200` (RFC 7009 §2.2.1 allows 503; a false 200 would leave a leaked token alive).
 * `unsupported_token_type` is never returned: every token Latchkey issues is an access token, and
 * access tokens are revocable (RFC 7009 §2.2.1).
 */
export async function revokeEndpoint(req: OAuthRequest, s: Services): Promise<OAuthResponse> {
  try {
    const { auth, token } = await authenticateTokenRequest(req, s, 'revoke');
    s.metrics.revocations.inc();
    const t = await resolveToken(token, s);
    // RFC 7009 §2.1: the server "verifies whether the token was issued to the client making the
    // revocation request. If this validation fails, the request is refused" — answered 200, with no effect.
    if (!t || t.client_id !== auth.client.record.client_id) return DONE;
    if (t.format === 'opaque') {
      await s.store.deleteOpaqueToken(t.tokenHash!);
    } else {
      await s.store.revokeJti(t.jti, t.client_id, t.exp);
      s.revocations.add(t.jti, t.exp);
    }
    return DONE;
  } catch (e) {
    return failureResponse(e, s);
  }
}

routeInstallers.push((app) => {
  postEndpointOf(app)('/oauth2/revoke', revokeEndpoint);
});

// RFC 8414 §2 (RFC 7009 endpoint metadata).
metadataContributors.push((s) => ({
  revocation_endpoint: `${s.config.issuer}/oauth2/revoke`,
  revocation_endpoint_auth_methods_supported: enabledAuthMethods(s),
}));
