export {
  applyClientAuthentication,
  basicAuthorization,
  formUrlEncode,
  createClientAssertion,
  CLIENT_AUTHENTICATION_METHODS,
  JWT_BEARER_ASSERTION_TYPE,
  JWT_SPIFFE_ASSERTION_TYPE,
  assertionFromFile,
  githubActionsAssertion,
  type ClientAuthentication,
  type ClientAuthenticationMethod,
} from './auth-methods.js';
export {
  LatchkeyClientError,
  OAuthErrorResponse,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
} from './errors.js';
export {
  TokenClient,
  type AccessToken,
  type TokenClientOptions,
  type TokenRequestOptions,
  type TokenClientEvent,
  type SharedTokenCache,
} from './token-client.js';
export { DPoPSigner, type DPoPKeyInput } from './dpop.js';
export { discoveryUrls, type AuthorizationServerMetadata } from './discovery.js';
export { challengeError } from './authenticated-fetch.js';
export { createAuthenticatedFetch, type AuthenticatedFetchOptions } from './create-authenticated-fetch.js';
export { parseRetryAfter, type RetryOptions, type FetchLike } from './http.js';
