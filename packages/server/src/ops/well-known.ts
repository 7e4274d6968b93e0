import type { FastifyPluginAsync } from 'fastify';
import type { Keyring } from '../keys/keyring.js';

/**
 * Public discovery documents: RFC 8414 authorization server metadata (also at the OpenID Connect
 * discovery path, for clients that only know that one) and the JWKS (RFC 7517) of the signing keys.
 * `metadata` is built once by the composition root from the endpoints and authenticators it runs.
 */
export function wellKnownFeature(o: { metadata: Readonly<Record<string, unknown>>; keyring: Pick<Keyring, 'jwksJson'> }): {
  readonly name: string;
  readonly plugin: FastifyPluginAsync;
} {
  const body = JSON.stringify(o.metadata);
  const cors = { 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' };
  return {
    name: 'well-known',
    plugin: async (app) => {
      for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
        app.get(path, (_req, reply) => reply.code(200).headers({ 'content-type': 'application/json; charset=utf-8', ...cors }).send(body));
      }
      app.get('/.well-known/jwks.json', (_req, reply) =>
        reply
          .code(200)
          .headers({ 'content-type': 'application/jwk-set+json', ...cors })
          .send(o.keyring.jwksJson()),
      );
    },
  };
}
