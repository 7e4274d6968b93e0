import type { OAuthRequest, OAuthResponse } from '../shared/oauth-request.js';

/**
 * A POST-only OAuth endpoint as the protocol layer builds it: framework-free (OAuthRequest in,
 * OAuthResponse out) plus the RFC 8414 metadata it contributes. Structurally an `OAuthEndpoint` of
 * the HTTP contract (http/contract.ts), which protocol/ does not import.
 */
export interface ProtocolEndpoint {
  readonly path: string;
  /** RFC 8414 §2 fields for this endpoint (its URL and the auth methods it accepts). */
  readonly metadata: Readonly<Record<string, unknown>>;
  handle(req: OAuthRequest): Promise<OAuthResponse>;
}
