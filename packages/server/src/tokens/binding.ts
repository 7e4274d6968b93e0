import type { OAuthRequest } from '../shared/oauth-request.js';
import type { AuthContext, AuthenticatedClient } from '../client-auth/types.js';

/** Confirmation claim (RFC 7800) binding a token to a key: DPoP (RFC 9449 §6) or a certificate (RFC 8705 §3.1). */
export interface Binding {
  cnf: Record<string, string>;
  /** "DPoP" when a DPoP proof bound the token, else Bearer. */
  tokenType: 'Bearer' | 'DPoP';
  /** Extra response headers (e.g. a fresh DPoP-Nonce). */
  headers?: Record<string, string>;
}

/**
 * Token binders run after client authentication. Each returns a binding or undefined; the first
 * one wins. Throws OAuthError for an invalid proof.
 */
export type Binder = (req: OAuthRequest, client: AuthenticatedClient, ctx?: AuthContext) => Promise<Binding | undefined> | Binding | undefined;

export const binders: Binder[] = [];

export function registerBinder(b: Binder): void {
  if (!binders.includes(b)) binders.push(b);
}
