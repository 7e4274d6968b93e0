/**
 * `@latchkey/resource`: verify OAuth 2.0 access tokens in an API.
 *
 * - JWT access tokens per RFC 9068 §4, hardened per RFC 8725; keys from the issuer's JWKS.
 * - Opaque tokens via RFC 7662 introspection.
 * - Sender constraints: DPoP (RFC 9449) and mTLS `x5t#S256` (RFC 8705).
 * - RFC 6750 errors, scope checks, Express / node:http / fetch adapters here,
 *   the Fastify plugin in `@latchkey/resource/fastify`.
 */
export {
  createResourceServer,
  ResourceServer,
  type AccessTokenClaims,
  type AuthInfo,
  type AuthOutcome,
  type ErrorResponse,
  type HeaderSource,
  type ProtectedResourceRequest,
  type VerifyContext,
} from './resource-server.js';
export type { ResourceServerOptions, IntrospectionOptions, DpopOptions } from './options.js';
export { ResourceError, ResourceConfigError, ERROR_CATALOG, type ResourceErrorCode, type WireError } from './errors.js';
export { requireScopes, requireAnyScope, hasScopes, type ScopeRequirement, type ScopeInput } from './scopes.js';
export { SUPPORTED_ALGORITHMS, type JwsAlgorithm } from './algorithms.js';
export { MemoryReplayStore, jwkThumbprint, type ReplayStore } from './dpop.js';
export { certificateThumbprint, parseForwardedCertificate, type CertificateInput } from './mtls.js';
export { discoveryUrls, type AuthorizationServerMetadata, type DiscoveryMode } from './discovery.js';
export type { FetchLike } from './http-json.js';
export { nodeHttpGuard, fromNodeRequest, sendNodeError, type NodeAdapterOptions } from './adapters/node-http.js';
export { expressAuth, getAuth, type ExpressAuthOptions, type WithAuth } from './adapters/express.js';
export { authenticateRequest, withAuth, toFetchResponse, type FetchAdapterOptions } from './adapters/fetch.js';
