import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import { errSummary } from '../services.js';
import { tokenEndpoint } from '../protocol/token.js';
import { buildMetadata } from '../protocol/metadata.js';
import type { OAuthRequest, OAuthResponse } from '../shared/oauth-request.js';
import { createFastPathServer, type OAuthHandler } from './fast-path.js';

export const BODY_LIMIT = 64 * 1024;

/** Routes added by feature modules (introspection, revocation, registration, admin API, console). */
export type RouteInstaller = (app: FastifyInstance, s: Services) => void | Promise<void>;
export const routeInstallers: RouteInstaller[] = [];

export function toOAuthRequest(req: FastifyRequest, issuer: string): OAuthRequest {
  return {
    method: req.method,
    url: issuer + req.url.split('?', 1)[0],
    headers: req.headers,
    rawBody: typeof req.body === 'string' ? req.body : undefined,
    remoteAddress: req.ip,
    clientCertificate: (req as unknown as { clientCertificate?: OAuthRequest['clientCertificate'] }).clientCertificate,
  } satisfies OAuthRequest;
}

export function send(reply: FastifyReply, r: OAuthResponse): FastifyReply {
  // An empty body (revocation's 200) goes without a content type, as on the node:http fast path.
  return reply.code(r.status).headers(r.headers).send(r.body === '' ? undefined : r.body);
}

const json = (reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) =>
  reply.code(status).headers({ 'content-type': 'application/json; charset=utf-8', ...headers }).send(JSON.stringify(body));

/**
 * Fastify wiring: size limits, the one error boundary, and the protocol endpoints. Handlers are
 * framework-free (OAuthRequest in, OAuthResponse out); this file only adapts.
 */
export async function buildHttpServer(s: Services, opts: { https?: Record<string, unknown> | undefined } = {}): Promise<FastifyInstance> {
  // POST-only OAuth endpoints, also served by the node:http fast path (filled by postEndpoint below).
  const fastRoutes = new Map<string, OAuthHandler>();
  const app = Fastify({
    loggerInstance: s.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    trustProxy: s.config.trustProxy ? s.config.trustProxy.split(',').map((x) => x.trim()) : false,
    return503OnClosing: true,
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
    keepAliveTimeout: 10_000,
    forceCloseConnections: 'idle',
    ...(opts.https ? { https: opts.https } : {}),
    // Plain HTTP without client-certificate headers: POSTs to the OAuth endpoints take the node:http fast path.
    ...(!opts.https && !s.config.tlsClientCertHeader && process.env.LATCHKEY_NO_FAST_PATH !== '1'
      ? { serverFactory: createFastPathServer(s, fastRoutes, BODY_LIMIT, s.config.trustProxy, { request: 30_000, headers: 20_000, keepAlive: 10_000, connection: 30_000 }) }
      : {}),
  } as any) as unknown as FastifyInstance;

  // Keep bodies as text: the token endpoint parses forms itself (duplicate detection), and other media
  // types reach the handler so it can answer invalid_request rather than 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined);
    try {
      done(null, JSON.parse(body as string, (k, v) => (k === '__proto__' || k === 'constructor' ? undefined : v)));
    } catch {
      const err = new Error('malformed JSON body') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err: errSummary(err), stack: err.stack }, 'unhandled error');
      return json(reply, 500, { error: 'server_error', error_description: 'internal error' }, { 'cache-control': 'no-store' });
    }
    const description =
      status === 413 ? `request body larger than ${BODY_LIMIT} bytes` : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported media type' : 'malformed request';
    return json(reply, status, { error: 'invalid_request', error_description: description }, { 'cache-control': 'no-store' });
  });
  app.setNotFoundHandler((_req, reply) => json(reply, 404, { error: 'not_found', error_description: 'no such endpoint' }));

  app.addHook('onResponse', (req, reply, done) => {
    // One line per request; path only (no query string), never headers or bodies.
    if (s.log.isLevelEnabled('info')) {
      req.log.info({ method: req.method, path: req.url.split('?', 1)[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request');
    }
    done();
  });

  const methodNotAllowed = (allow: string) => (_req: FastifyRequest, reply: FastifyReply) =>
    json(reply, 405, { error: 'invalid_request', error_description: `method not allowed; use ${allow}` }, { allow, 'cache-control': 'no-store' });

  /** POST-only OAuth endpoint with 405 + Allow for everything else (SPEC §3). */
  const postEndpoint = (path: string, handler: OAuthHandler) => {
    fastRoutes.set(path, handler);
    // OAuth endpoints read any body as text and judge the media type themselves (invalid_request, not 415
    // or a JSON parse error), the same on this path as on the node:http fast path.
    void app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      scope.post(path, async (req, reply) => send(reply, await handler(toOAuthRequest(req, s.config.issuer), s)));
    });
    app.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: path, handler: methodNotAllowed('POST') });
  };
  (app as unknown as { latchkeyPost: typeof postEndpoint }).latchkeyPost = postEndpoint;

  postEndpoint('/oauth2/token', tokenEndpoint);

  const metadata = (_req: FastifyRequest, reply: FastifyReply) =>
    json(reply, 200, buildMetadata(s), { 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' });
  app.get('/.well-known/oauth-authorization-server', metadata);
  app.get('/.well-known/openid-configuration', metadata);
  app.get('/.well-known/jwks.json', (_req, reply) =>
    reply
      .code(200)
      .headers({ 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' })
      .send(s.keyring.jwksJson()),
  );

  app.get('/healthz', (_req, reply) => json(reply, 200, { status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await Promise.race([s.store.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('store ping timed out')), 1000).unref())]);
      return json(reply, 200, { status: 'ready', store: s.store.dialect });
    } catch (e) {
      return json(reply, 503, { status: 'unavailable', error: 'temporarily_unavailable', error_description: 'store unavailable' }, { 'retry-after': '1' });
    }
  });
  app.get('/metrics', async (_req, reply) =>
    reply.code(200).header('content-type', s.metrics.registry.contentType).send(await s.metrics.registry.metrics()),
  );

  for (const install of routeInstallers) await install(app, s);
  return app;
}

export type PostEndpoint = (path: string, handler: OAuthHandler) => void;
export function postEndpointOf(app: FastifyInstance): PostEndpoint {
  return (app as unknown as { latchkeyPost: PostEndpoint }).latchkeyPost;
}
