import type { ClientAuthenticator } from '../types.js';
import type { FederatedAuthenticator } from './federated-assertion.js';

/**
 * One client-assertion authenticator out of two: RFC 7523 assertions a client signed itself
 * (`private_key_jwt`, `client_secret_jwt`) and platform tokens of a trusted issuer (`federated_jwt`).
 * Both arrive as `client_assertion`, so they must count as one method (RFC 6749 §2.3 "more than one
 * authentication method" would otherwise trip); the federated one takes the request when it
 * {@link FederatedAuthenticator.handles} it (`jwt-spiffe`, or an `iss` that is a trusted issuer — never a
 * client id, which cannot contain "/"), the local one otherwise.
 */
export function routeAssertions(local: ClientAuthenticator, federated: FederatedAuthenticator): ClientAuthenticator {
  return {
    kind: 'assertion',
    methods: [...local.methods, ...federated.methods],
    metadata: { ...local.metadata, ...federated.metadata },
    present: (req, params) => federated.handles(params) || local.present(req, params),
    authenticate: (req, params) => (federated.handles(params) ? federated.authenticate(req, params) : local.authenticate(req, params)),
  };
}
