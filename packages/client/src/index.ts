export {
  applyClientAuthentication,
  basicAuthorization,
  formUrlEncode,
  createClientAssertion,
  CLIENT_AUTHENTICATION_METHODS,
  JWT_BEARER_ASSERTION_TYPE,
  type ClientAuthentication,
  type ClientAuthenticationMethod,
} from './auth-methods.js';
export {
  LatchkeyClientError,
  OAuthErrorResponse,
  CLIENT_ERROR_CODES,
  type ClientErrorCode,
} from './errors.js';
