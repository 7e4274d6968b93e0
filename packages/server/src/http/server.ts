import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import { errSummary, invalidRequest, isUnexpected, noSuchEndpoint, OAuthError, payloadTooLarge, toResponse } from '../shared/errors.js';
import type { ClientCertificate, OAuthResponse } from '../shared/oauth-request.js';
import { certificateReader } from './client-certificate.js';
import type { HttpServerOptions } from './contract.js';
import { BODY_LIMIT } from './limits.js';
import { listenerFactory } from './listener.js';
import { createOAuthHandler } from './oauth-handler.js';
import { logRequest, pathOf } from './request-log.js';
import { proxyTrust } from './trusted-proxy.js';


declare module 'fastify' {
  interface FastifyRequest {
    /** The client certificate (RFC 8705) — from the TLS socket or a trusted proxy's header, as on the OAuth endpoints. */
    readonly clientCertificate: ClientCertificate | undefined;
  }
}

/** Writes a framework-free response through Fastify (an empty body goes without a content type). */
function send(reply: FastifyReply, r: OAuthResponse): FastifyReply {
  return reply.code(r.status).headers(r.headers).send(r.body === '' ? undefined : r.body);
}

/**
 * The HTTP server: one listener (node:http, or node:https with client certificates requested when the
 * TLS options say so) whose request handler serves the OAuth endpoints itself — the same code on every
 * listener kind (see oauth-handler.ts) — and passes everything else to Fastify, which serves
 * `opts.features` (one encapsulated plugin each) and nothing else. One implementation each of the client
 * address (trusted proxies), body limit and 413, timeouts, request log line, and 404/500 bodies
 * (`toResponse` of shared/errors.ts) serves both.
 *
 * `close()` drains: no new connections, idle keep-alive sockets closed at once, requests in flight
 * finish (their responses say `Connection: close`), requests arriving on open sockets meanwhile get 503.
 */
export async function buildHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const proxy = proxyTrust(opts.trustProxy);
  const certificates = certificateReader({ tls: !!opts.tls, header: opts.clientCertificateHeader, proxy, clientCa: opts.clientCa });
  const oauth = createOAuthHandler({ issuer: opts.issuer, log: opts.log, endpoints: opts.oauthEndpoints, proxy, certificates, bodyLimit: BODY_LIMIT });

  const app = Fastify({
    loggerInstance: opts.log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    trustProxy: proxy.fastifyTrustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: listenerFactory(opts.tls, oauth.handle),
  });
  app.addHook('preClose', (done) => {
    oauth.startClosing();
    done();
  });

  // Fastify features read the client certificate the same way the OAuth handler does.
  app.decorateRequest('clientCertificate', {
    getter(this: { raw: IncomingMessage }) {
      return certificates?.(this.raw);
    },
  });

  // Bodies stay text (registration and the admin API judge media types themselves); JSON is parsed
  // without __proto__/constructor keys.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined);
    try {
      done(null, JSON.parse(body as string, (k: string, v: unknown) => (k === '__proto__' || k === 'constructor' ? undefined : v)));
    } catch {
      done(invalidRequest('malformed JSON body'), undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError | OAuthError, req, reply) => {
    let e: unknown = err;
    if (!(err instanceof OAuthError) && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      e =
        err.statusCode === 413
          ? payloadTooLarge(BODY_LIMIT)
          : new OAuthError('invalid_request', err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported media type' : 'malformed request', { status: err.statusCode });
    }
    if (isUnexpected(e)) req.log.error({ err: errSummary(e), stack: (e as Error).stack }, 'unhandled error');
    return send(reply, toResponse(e));
  });
  app.setNotFoundHandler((_req, reply) => send(reply, toResponse(noSuchEndpoint())));

  app.addHook('onResponse', (req, reply, done) => {
    logRequest(opts.log, req.method, pathOf(req.url), reply.statusCode, reply.elapsedTime);
    done();
  });

  // Each feature an encapsulated plugin, named for avvio's plugin tree and Fastify's errors.
  const names = new Set<string>();
  for (const f of opts.features) {
    if (names.has(f.name)) throw new Error(`two HTTP features named ${f.name}`);
    names.add(f.name);
    const plugin: FastifyPluginAsync = (instance, pluginOpts) => f.plugin(instance, pluginOpts);
    Object.defineProperty(plugin, 'name', { value: f.name });
    await app.register(plugin);
  }
  // Typed with pino's Logger and our server type; callers see the default FastifyInstance.
  return app as unknown as FastifyInstance;
}
