import { randomBytes } from 'node:crypto';
import { adminApiFeature } from '../admin/admin-api.js';
import { adminAuthenticator } from '../admin/admin-auth.js';
import { clientAuthentication } from '../client-auth/index.js';
import { clientSecretBasic, clientSecretPost } from '../client-auth/client-secret.js';
import { guardedAuthentication } from '../client-auth/guarded.js';
import { jwtAssertion } from '../client-auth/jwt-assertion.js';
import { federatedAssertion } from '../client-auth/federated/federated-assertion.js';
import { routeAssertions } from '../client-auth/federated/route-assertions.js';
import { certificatesReceivable, clientCasFromConfig, mutualTls, tlsOptionsFromConfig } from '../client-auth/mtls.js';
import { consoleFeature } from '../console/console-routes.js';
import type { HttpServerOptions } from '../http/contract.js';
import { ClientService } from '../management/clients.service.js';
import { TrustedIssuerService } from '../management/trusted-issuers.service.js';
import { registrationFeature } from '../management/registration.js';
import { opsFeature } from '../ops/health.js';
import { wellKnownFeature } from '../ops/well-known.js';
import { introspectionEndpoint, tokenResolver } from '../protocol/introspect.js';
import { authorizationServerMetadata } from '../protocol/metadata.js';
import { revocationEndpoint } from '../protocol/revoke.js';
import { tokenEndpoint } from '../protocol/token.js';
import { certificateBinder } from '../tokens/certificate-binding.js';
import { dpopBinder } from '../tokens/dpop.js';
import { ownTokenVerifier } from '../tokens/verify-own.js';
import type { Runtime } from './runtime.js';

/**
 * THE COMPOSITION ROOT: every feature of the server, as values, built with exactly the collaborators it
 * uses. Reading this function top to bottom is reading the server: which client authentication methods
 * exist, which sender constraints bind tokens, which OAuth endpoints are served, what the metadata
 * advertises (built from those same values), and which HTTP features (discovery, registration, admin
 * API, console, ops) are mounted. Nothing registers itself by being imported; two calls build two
 * independent servers.
 *
 * To add a client authentication method or an endpoint: write its factory in its layer, then list it
 * here — nothing else (docs/architecture.md).
 */
export function composeServer(rt: Runtime, opts: { tls?: Readonly<Record<string, unknown>> | undefined } = {}) {
  const { config, log, store, metrics } = rt;
  const issuer = config.issuer;

  // ---- client authentication: the methods, in the order they are tried (RFC 6749 §2.3) ----
  const authentication = clientAuthentication(
    [
      clientSecretBasic({ clients: rt.clients, hasher: rt.hasher, issuer }),
      clientSecretPost({ clients: rt.clients, hasher: rt.hasher, issuer }),
      // private_key_jwt, client_secret_jwt (RFC 7523) and federated_jwt (SPEC §9: a trusted issuer's platform token)
      routeAssertions(jwtAssertion(rt), federatedAssertion({ issuers: rt.trustedIssuers, clients: rt.clients, config, useOnce: (key, exp) => rt.useOnce(key, exp) })),
      mutualTls(rt), // tls_client_auth, self_signed_tls_client_auth (RFC 8705)
    ],
    issuer,
  );
  const authenticate = guardedAuthentication({ authentication, limiter: rt.limiter, clients: rt.clients, issuer, metrics });

  // ---- sender constraints of issued tokens, DPoP first ----
  const binders = [dpopBinder(rt), certificateBinder({ receivable: certificatesReceivable(config) })] as const;

  // ---- the OAuth endpoints (one framework-free handler each) ----
  const ownTokens = ownTokenVerifier(rt.keyring, issuer);
  const resolve = tokenResolver({ issuer, ownTokens, opaqueTokens: rt.opaqueTokens });
  const token = tokenEndpoint({
    issuer,
    defaultAudience: config.defaultAudience,
    authenticate,
    binders,
    minter: rt.minter,
    storeOutageExceeded: () => Date.now() - rt.feed.lastOkAt > config.storeOutageGrace * 1000 + 2 * config.changePollInterval,
    metrics,
    log,
  });
  const introspection = introspectionEndpoint({ issuer, authenticate, resolve, revocations: rt.revocations, clients: rt.clients, metrics });
  const revocation = revocationEndpoint({ issuer, authenticate, resolve, store, opaqueTokens: rt.opaqueTokens, revocations: rt.revocations, metrics });
  const oauthEndpoints = [token, introspection, revocation] as const;

  // ---- management surfaces ----
  const clientService = new ClientService(rt);
  const trustedIssuers = new TrustedIssuerService({ store, outbound: rt.outbound.policy });
  const adminAuth = adminAuthenticator({ issuer, keyring: rt.keyring, store, revocations: rt.revocations, clients: rt.clients });
  /** Marks the console's own admin API calls (audit actor "console:"); per server, never sent to browsers. */
  const consoleMark = randomBytes(16).toString('base64url');
  const registration = registrationFeature({ issuer, store, hasher: rt.hasher, clients: clientService, log, config });

  // ---- RFC 8414 metadata: from the endpoints and authenticators above, so it cannot disagree with them ----
  const metadata = authorizationServerMetadata({ issuer, endpoints: oauthEndpoints, authentication, extra: [registration.metadata] });

  const features = [
    wellKnownFeature({ metadata, keyring: rt.keyring }),
    registration,
    adminApiFeature({ issuer, defaultAudience: config.defaultAudience, adminAuth, clients: clientService, keyring: rt.keyring, store, log, consoleMark, trustedIssuers }),
    consoleFeature({
      issuer,
      consoleDir: config.consoleDir,
      store,
      sealer: rt.sealer,
      ownTokens,
      clients: rt.clients,
      revocations: rt.revocations,
      opaqueTokens: rt.opaqueTokens,
      adminAuth,
      tokenEndpoint: token,
      consoleMark,
      log,
    }),
    // With an ops listener (opsPort), /metrics is served only there; /healthz and /readyz on both.
    opsFeature({ store, metrics, ...(config.opsPort !== undefined ? { routes: ['healthz', 'readyz'] as const } : {}) }),
  ] as const;

  const http: HttpServerOptions = {
    issuer,
    log,
    trustProxy: config.trustProxy,
    tls: opts.tls ?? tlsOptionsFromConfig(config),
    clientCertificateHeader: config.tlsClientCertHeader,
    clientCa: clientCasFromConfig(config),
    oauthEndpoints,
    features,
  };
  // ---- the operations listener (opsHost:opsPort), when configured: plain HTTP, ops routes only ----
  const opsHttp: HttpServerOptions | undefined =
    config.opsPort === undefined
      ? undefined
      : { issuer, log, trustProxy: undefined, tls: undefined, clientCertificateHeader: undefined, clientCa: [], oauthEndpoints: [], features: [opsFeature({ store, metrics })] };
  return { http, opsHttp, metadata, endpoints: { token, introspection, revocation }, authentication, authenticate, clientService, adminAuth };
}

export type ComposedServer = ReturnType<typeof composeServer>;
