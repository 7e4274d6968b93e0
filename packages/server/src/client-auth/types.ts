import type { CachedClient, ClientCache } from '../store/client-cache.js';
import type { TokenEndpointAuthMethod } from '../store/types.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { SecretHasher } from './secret-hash.js';
import type { Store } from '../store/store.js';
import type { Config } from '../config.js';
import type { Sealer } from '../keys/seal.js';

export interface AuthContext {
  readonly config: Config;
  readonly clients: ClientCache;
  readonly hasher: SecretHasher;
  readonly store: Store;
  readonly sealer: Sealer;
  /** Single-use check for assertion jti (store or Redis). */
  useOnce(key: string, expSeconds: number): Promise<boolean>;
}

/** Which credentials the request carries; used to reject requests with more than one method. */
export interface PresentedCredentials {
  method: 'basic' | 'post' | 'assertion' | 'tls';
}

/**
 * One client authentication method family. `present` tells whether the request carries this kind of
 * credential; `authenticate` returns the client or throws invalid_client.
 */
export interface ClientAuthenticator {
  readonly kind: PresentedCredentials['method'];
  /** Registered methods this authenticator can satisfy. */
  readonly methods: readonly TokenEndpointAuthMethod[];
  present(req: OAuthRequest, params: FormParams): boolean;
  authenticate(req: OAuthRequest, params: FormParams, ctx: AuthContext): Promise<AuthenticatedClient>;
}

export interface AuthenticatedClient {
  client: CachedClient;
  method: TokenEndpointAuthMethod;
  /** Set for certificate-based methods: the certificate's SHA-256 thumbprint (RFC 8705 §3.1). */
  certificateThumbprint?: string;
}
