import type { CachedClient, ClientCache } from '../store/client-cache.js';
import type { TokenEndpointAuthMethod } from '../store/types.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { Config } from '../config.js';
import type { Sealer } from '../keys/seal.js';
import type { ClientKeys } from './client-jwks.js';

/** What the assertion and certificate authenticators need (built once by the composition root). */
export interface AuthContext {
  readonly config: Config;
  readonly clients: ClientCache;
  readonly sealer: Sealer;
  /** The clients' registered keys (jwks / jwks_uri), one instance per server. */
  readonly clientKeys: ClientKeys;
  /** Single-use check for assertion jti (store or Redis). */
  useOnce(key: string, expSeconds: number): Promise<boolean>;
}

/** Which credentials the request carries; used to reject requests with more than one method. */
export interface PresentedCredentials {
  method: 'basic' | 'post' | 'assertion' | 'tls';
}

/**
 * One client authentication method family, built by its factory with its collaborators. `present`
 * tells whether the request carries this kind of credential; `authenticate` returns the client or
 * throws invalid_client. `methods` are the registered methods it serves that are usable under the
 * running configuration (e.g. TLS methods need a TLS listener or a trusted proxy): the metadata
 * advertises exactly these, so it cannot disagree with what the endpoints accept.
 */
export interface ClientAuthenticator {
  readonly kind: PresentedCredentials['method'];
  readonly methods: readonly TokenEndpointAuthMethod[];
  /** RFC 8414 fields this method family adds (e.g. *_auth_signing_alg_values_supported); {} if none. */
  readonly metadata: Readonly<Record<string, unknown>>;
  present(req: OAuthRequest, params: FormParams): boolean;
  authenticate(req: OAuthRequest, params: FormParams): Promise<AuthenticatedClient>;
}

export interface AuthenticatedClient {
  client: CachedClient;
  method: TokenEndpointAuthMethod;
  /** Set for certificate-based methods: the certificate's SHA-256 thumbprint (RFC 8705 §3.1). */
  certificateThumbprint?: string;
}
