import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessTokenClaims, AuthInfo, ResourceServer } from '../resource-server.js';
import { toRequirement, type ScopeInput } from '../scopes.js';
import { nodeClientCertificate, nodeHeaders } from './node-http.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `@latchkey/resource` on authenticated routes; `null` on routes with `config: { latchkey: false }`. */
    auth: AuthInfo | null;
  }
  interface FastifyContextConfig {
    /** Per-route settings: `false` makes the route public; `{ scopes }` adds a scope requirement. */
    latchkey?: false | { scopes?: ScopeInput };
  }
}

export interface LatchkeyFastifyOptions<C extends AccessTokenClaims = AccessTokenClaims> {
  resourceServer: ResourceServer<C>;
  /** Scopes every route needs unless its `config.latchkey.scopes` says otherwise. */
  scopes?: ScopeInput;
}

/**
 * What fastify-plugin does: marks `plugin` as not encapsulated (so its hooks apply to the instance it is registered
 * on, not a child context) and names it in Fastify's plugin tree. Returns the same function.
 */
function unencapsulated<P extends FastifyPluginAsync<LatchkeyFastifyOptions>>(name: string, plugin: P): P {
  const marks = plugin as unknown as Record<symbol, unknown>;
  marks[Symbol.for('skip-override')] = true;
  marks[Symbol.for('fastify.display-name')] = name;
  return plugin;
}

/**
 * Fastify plugin (tested with Fastify 5; RFC 6750 §2.1 header tokens, §3 errors). Registered on an instance, it protects
 * every route of that instance and its children with an `onRequest` hook (so
 * bodies of rejected requests are never parsed), and sets `request.auth`.
 * Per route: `config: { latchkey: false }` to make it public, or
 * `config: { latchkey: { scopes: requireScopes('write:orders') } }`.
 *
 * The URL for DPoP `htu` comes from the `publicOrigin` option, or from
 * `request.protocol` / `request.host` (which honour Fastify's `trustProxy`).
 *
 * @example
 * await app.register(latchkeyFastify, { resourceServer: rs, scopes: 'read:orders' });
 * app.get('/orders', async (request) => ({ client: request.auth?.clientId }));
 */
export const latchkeyFastify: FastifyPluginAsync<LatchkeyFastifyOptions> = unencapsulated('@latchkey/resource', async (fastify, options) => {
  const rs = options.resourceServer;
  if (rs === undefined || typeof rs.authenticate !== 'function') throw new TypeError('latchkeyFastify: options.resourceServer is required');
  const defaultScopes = toRequirement(options.scopes); // validated at registration
  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
  // Validate per-route requirements when routes are declared, not on their first request.
  fastify.addHook('onRoute', (route) => {
    const config = route.config?.latchkey;
    if (config) toRequirement(config.scopes);
  });
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config.latchkey;
    if (config === false) return;
    const host = (request as unknown as { host?: string }).host ?? request.hostname;
    const outcome = await rs.authenticate(
      {
        method: request.method,
        url: `${request.protocol}://${host}${request.url}`,
        headers: nodeHeaders(request.raw),
        clientCertificate: nodeClientCertificate(request.raw),
        remoteAddress: request.raw.socket?.remoteAddress,
      },
      config?.scopes === undefined ? defaultScopes : toRequirement(config.scopes),
    );
    if (outcome.ok) {
      request.auth = outcome.auth;
      return;
    }
    const { status, headers, body } = outcome.response;
    return reply.code(status).headers(headers).send(body === '' ? undefined : body);
  });
});

export default latchkeyFastify;
