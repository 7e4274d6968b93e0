import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { MAX_HEADER_SIZE, TIMEOUTS } from './limits.js';

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Fastify's `serverFactory`: a node:http server, or node:https with the TLS options (client
 * certificates requested when they say so), both with the same limits and timeouts, and both putting
 * `front` (the OAuth endpoints' handler) before Fastify's own handler.
 */
export function listenerFactory(
  tls: Readonly<Record<string, unknown>> | undefined,
  front: (req: IncomingMessage, res: ServerResponse) => boolean,
): (fastifyHandler: RequestHandler) => Server {
  return (fastifyHandler) => {
    const onRequest: RequestHandler = (req, res) => {
      if (!front(req, res)) fastifyHandler(req, res);
    };
    const options = { maxHeaderSize: MAX_HEADER_SIZE, requestTimeout: TIMEOUTS.request, headersTimeout: TIMEOUTS.headers, keepAliveTimeout: TIMEOUTS.keepAlive };
    const server: Server = tls ? createHttpsServer({ ...tls, ...options }, onRequest) : createHttpServer(options, onRequest);
    // Set explicitly as well: not every node version reads all of these from the https options.
    server.keepAliveTimeout = TIMEOUTS.keepAlive;
    server.headersTimeout = TIMEOUTS.headers;
    server.requestTimeout = TIMEOUTS.request;
    server.setTimeout(TIMEOUTS.connection);
    return server;
  };
}
