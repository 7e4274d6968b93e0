import type { GuardedAuthentication } from '../client-auth/guarded.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import type { OpaqueTokenCache } from '../tokens/opaque-cache.js';
import type { RevocationCache } from '../tokens/revocations.js';
import { NO_STORE, type OAuthResponse } from '../shared/oauth-request.js';
import type { ProtocolEndpoint } from './endpoint.js';
import { authenticateTokenRequest, failureResponse, type TokenResolver } from './introspect.js';

export const REVOCATION_PATH = '/oauth2/revoke';

const DONE: OAuthResponse = { status: 200, headers: { ...NO_STORE }, body: '' };

/** What the revocation endpoint works with. */
export interface RevocationDeps {
  readonly issuer: string;
  readonly authenticate: GuardedAuthentication;
  readonly resolve: TokenResolver;
  readonly store: Pick<Store, 'revokeJti'>;
  /** Opaque tokens are revoked through the cache: deleted from the store and forgotten on this node at once. */
  readonly opaqueTokens: Pick<OpaqueTokenCache, 'revoke'>;
  readonly revocations: Pick<RevocationCache, 'add'>;
  readonly metrics: Pick<Metrics, 'revocations' | 'storeErrors'>;
}

/**
 * POST /oauth2/revoke — RFC 7009 token revocation.
 *
 * Steps: form body → client authentication (none → 401) → `token` required → resolve the token →
 * revoke it if the caller owns it. Opaque tokens are deleted from the store and from this process's
 * opaque-token cache: dead at once here, and on every other node (and worker process) as soon as its
 * change feed delivers the `opaque_revocation` event — within the poll interval, at most 1 s (SPEC §4;
 * a node whose feed is further behind stops answering from its cache). JWTs cannot be recalled: their
 * `jti` is recorded until `exp`, every node learns of it through the change feed within its poll
 * interval, and introspection then answers `active: false`. APIs that verify JWTs locally do NOT see revocations; they rely on short lifetimes
 * or introspection (docs/rotation.md).
 *
 * The answer is `200` for unknown, malformed, expired or foreign tokens alike (RFC 7009 §2.2), so the
 * response reveals nothing. A revocation that could not be stored is `503 temporarily_unavailable`,
 * never a `200` (RFC 7009 §2.2.1 allows 503; a false 200 would leave a leaked token alive).
 * `unsupported_token_type` is never returned: every token Latchkey issues is an access token, and
 * access tokens are revocable (RFC 7009 §2.2.1).
 */
export function revocationEndpoint(d: RevocationDeps): ProtocolEndpoint {
  const { authenticate, resolve, store, opaqueTokens, revocations, metrics } = d;
  return {
    path: REVOCATION_PATH,
    // RFC 8414 §2 (RFC 7009 endpoint metadata).
    metadata: {
      revocation_endpoint: `${d.issuer}${REVOCATION_PATH}`,
      revocation_endpoint_auth_methods_supported: [...authenticate.methods],
    },
    async handle(req) {
      try {
        const { auth, token } = await authenticateTokenRequest(req, authenticate, 'revoke');
        metrics.revocations.inc();
        const t = await resolve(token);
        // RFC 7009 §2.1: the server "verifies whether the token was issued to the client making the
        // revocation request. If this validation fails, the request is refused" — answered 200, with no effect.
        if (!t || t.client_id !== auth.client.record.client_id) return DONE;
        if (t.format === 'opaque') {
          await opaqueTokens.revoke(t.tokenHash!);
        } else {
          await store.revokeJti(t.jti, t.client_id, t.exp);
          revocations.add(t.jti, t.exp);
        }
        return DONE;
      } catch (e) {
        return failureResponse(e, metrics);
      }
    },
  };
}
