import { invalidRequest, OAuthError } from '../shared/errors.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { TokenEndpointAuthMethod } from '../store/types.js';
import { basicChallenge } from './client-secret.js';
import type { AuthenticatedClient, ClientAuthenticator } from './types.js';

export type { AuthContext, AuthenticatedClient, ClientAuthenticator } from './types.js';

/** The client authentication of a server: its authenticators, in the order they are tried. */
export interface ClientAuthentication {
  readonly authenticators: readonly ClientAuthenticator[];
  /** The enabled methods, in order (RFC 8414 `*_endpoint_auth_methods_supported`). */
  readonly methods: readonly TokenEndpointAuthMethod[];
  /** Metadata fields the authenticators add. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * Authenticates the calling client (token, introspection and revocation endpoints).
   * RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
   */
  authenticate(req: OAuthRequest, params: FormParams): Promise<AuthenticatedClient>;
}

export function clientAuthentication(authenticators: readonly [ClientAuthenticator, ...ClientAuthenticator[]], issuer: string): ClientAuthentication {
  const methods: TokenEndpointAuthMethod[] = [];
  let metadata: Record<string, unknown> = {};
  for (const a of authenticators) {
    for (const m of a.methods) if (!methods.includes(m)) methods.push(m);
    metadata = { ...metadata, ...a.metadata };
  }
  const challenge = basicChallenge(issuer);
  return {
    authenticators,
    methods,
    metadata,
    async authenticate(req, params) {
      let found: ClientAuthenticator | undefined;
      let fallback: ClientAuthenticator | undefined;
      for (const a of authenticators) {
        if (!a.present(req, params)) continue;
        // A certificate alone does not count as a second method: it may be there for token binding.
        if (a.kind === 'tls') {
          fallback ??= a;
          continue;
        }
        if (found) throw invalidRequest('more than one client authentication method in the request');
        found = a;
      }
      const chosen = found ?? fallback;
      if (!chosen) throw new OAuthError('invalid_client', 'client authentication failed', { detail: 'no client credentials', headers: challenge });
      const result = await chosen.authenticate(req, params);
      // A client_id parameter must name the authenticated client (RFC 6749 §3.2.1, RFC 7523 §3).
      const bodyId = params.get('client_id');
      if (bodyId !== undefined && bodyId !== result.client.record.client_id) {
        throw invalidRequest('client_id does not match the authenticated client');
      }
      return result;
    },
  };
}
