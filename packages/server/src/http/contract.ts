import type { X509Certificate } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { OAuthRequest, OAuthResponse } from '../shared/oauth-request.js';

/**
 * The contract between the composition root (src/app/) and the HTTP layer (src/http/).
 * Features are values: the root builds them with their collaborators and hands the lists to
 * `buildHttpServer`; nothing registers itself by being imported.
 */

/**
 * A POST-only, framework-free OAuth endpoint (token, introspection, revocation): OAuthRequest in,
 * OAuthResponse out. The HTTP layer serves it on every listener kind (plain, TLS, TLS with client
 * certificates, behind a trusted proxy) through one handler, answers every other method with 405 +
 * `Allow: POST`, and owns the body limit (413), the client address, the client certificate, the
 * request log line and the 500 body.
 */
export interface OAuthEndpoint {
  readonly path: string;
  handle(req: OAuthRequest): Promise<OAuthResponse>;
}

/** Everything else (well-known documents, registration, admin API, console, ops): an encapsulated Fastify plugin. */
export interface HttpFeature {
  /** Unique name (fastify-plugin style), for logs and for `dependencies`. */
  readonly name: string;
  readonly plugin: FastifyPluginAsync;
}

/** Where a request's client certificate comes from (RFC 8705): defined in shared/ so OAuthRequest can carry it. */
export type { ClientCertificate } from '../shared/oauth-request.js';

export interface HttpServerOptions {
  readonly issuer: string;
  readonly log: Logger;
  /** Comma-separated addresses/CIDRs whose X-Forwarded-For (and certificate header) are trusted. */
  readonly trustProxy: string | undefined;
  /** TLS listener options (node:tls), or undefined for plain HTTP. */
  readonly tls: Readonly<Record<string, unknown>> | undefined;
  /** Header carrying the client certificate from a trusted TLS-terminating proxy. */
  readonly clientCertificateHeader: string | undefined;
  /** PEM CA certificates that issue client certificates (tlsCa), for chain verification of header certificates. */
  readonly clientCa: readonly X509Certificate[];
  readonly oauthEndpoints: readonly OAuthEndpoint[];
  readonly features: readonly HttpFeature[];
}
