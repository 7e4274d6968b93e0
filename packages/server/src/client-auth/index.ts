import { invalidClient, invalidRequest, OAuthError } from '../shared/errors.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import { basicChallenge, clientSecretBasic, clientSecretPost } from './client-secret.js';
import type { AuthContext, AuthenticatedClient, ClientAuthenticator } from './types.js';

export type { AuthContext, AuthenticatedClient, ClientAuthenticator } from './types.js';

/** The authenticators in the order they are tried; strong methods register here too. */
export const authenticators: ClientAuthenticator[] = [clientSecretBasic, clientSecretPost];

export function registerAuthenticator(a: ClientAuthenticator): void {
  if (!authenticators.includes(a)) authenticators.push(a);
}

/**
 * Authenticates the calling client (token, introspection and revocation endpoints).
 * RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
 */
export async function authenticateClient(req: OAuthRequest, params: FormParams, ctx: AuthContext): Promise<AuthenticatedClient> {
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
  if (!chosen) {
    throw new OAuthError('invalid_client', 'client authentication failed', {
      detail: 'no client credentials',
      headers: basicChallenge(ctx.config.issuer),
    });
  }
  const result = await chosen.authenticate(req, params, ctx);
  // A client_id parameter must name the authenticated client (RFC 6749 §3.2.1, RFC 7523 §3).
  const bodyId = params.get('client_id');
  if (bodyId !== undefined && bodyId !== result.client.record.client_id) {
    throw invalidRequest('client_id does not match the authenticated client');
  }
  return result;
}

export { invalidClient };
