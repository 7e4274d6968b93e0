import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errSummary, isUnexpected, methodNotAllowed, payloadTooLarge, temporarilyUnavailable, toResponse } from '../shared/errors.js';
import type { OAuthRequest, OAuthResponse } from '../shared/oauth-request.js';
import type { CertificateReader } from './client-certificate.js';
import type { OAuthEndpoint } from './contract.js';
import { logRequest, pathOf } from './request-log.js';
import type { ProxyTrust } from './trusted-proxy.js';

export interface OAuthHandler {
  /** Serves the request if its path is an OAuth endpoint's (any method); false: not ours, pass it on. */
  handle(this: void, req: IncomingMessage, res: ServerResponse): boolean;
  /** From now on: new requests get 503, in-flight ones finish with `Connection: close` (graceful shutdown). */
  startClosing(this: void): void;
}

/**
 * The one HTTP path of the OAuth endpoints (token, introspection, revocation), framework-free and the
 * same on every listener kind: raw node:http(s) request in, `OAuthRequest` to the endpoint,
 * `OAuthResponse` written back. It owns, for these paths: 405 + `Allow: POST` for other methods, the
 * body limit (413), the client address (trusted X-Forwarded-For), the client certificate (TLS socket
 * or trusted proxy header), the request log line and the 500 body. Fastify's router, hooks and reply
 * machinery would cost about a third of the CPU per token here (docs/performance.md); everything else
 * goes to Fastify, which uses the same limit, address rule, log line and error boundary.
 */
export function createOAuthHandler(o: {
  issuer: string;
  log: Logger;
  endpoints: readonly OAuthEndpoint[];
  proxy: ProxyTrust;
  certificates: CertificateReader | undefined;
  bodyLimit: number;
}): OAuthHandler {
  const { issuer, log, proxy, certificates, bodyLimit } = o;
  const routes = new Map<string, OAuthEndpoint>();
  for (const e of o.endpoints) {
    if (routes.has(e.path)) throw new Error(`two OAuth endpoints at ${e.path}`);
    routes.set(e.path, e);
  }
  const notPost = toResponse(methodNotAllowed('POST'));
  const tooLarge = toResponse(payloadTooLarge(bodyLimit));
  const closingResponse = toResponse(temporarilyUnavailable('shutting down'));
  let closing = false;

  function respond(req: IncomingMessage, res: ServerResponse, r: OAuthResponse, path: string, t0: bigint, close = false): void {
    const headers: Record<string, string> = { ...r.headers };
    // An empty body (revocation's 200) goes without a content type; the length is always exact.
    headers['content-length'] = String(Buffer.byteLength(r.body));
    if (close || closing) headers.connection = 'close';
    res.writeHead(r.status, headers);
    res.end(r.body);
    logRequest(log, req.method, path, r.status, Number(process.hrtime.bigint() - t0) / 1e6);
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = pathOf(req.url);
    const endpoint = routes.get(path);
    if (!endpoint) return false;
    const t0 = process.hrtime.bigint();
    if (closing) {
      respond(req, res, closingResponse, path, t0, true);
      return true;
    }
    if (req.method !== 'POST') {
      respond(req, res, notPost, path, t0);
      return true;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > bodyLimit) {
      respond(req, res, tooLarge, path, t0, true);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (c: Buffer) => {
      if (aborted) return;
      size += c.length;
      if (size > bodyLimit) {
        aborted = true;
        chunks.length = 0;
        respond(req, res, tooLarge, path, t0, true);
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => {
      aborted = true;
    });
    req.on('end', () => {
      if (aborted) return;
      const oreq: OAuthRequest = {
        method: 'POST',
        url: issuer + path,
        headers: req.headers,
        rawBody: size === 0 ? undefined : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
        remoteAddress: proxy.clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']),
        clientCertificate: certificates?.(req),
      };
      endpoint.handle(oreq).then(
        (r) => respond(req, res, r, path, t0),
        (e: unknown) => {
          if (isUnexpected(e)) log.error({ err: errSummary(e), stack: (e as Error | undefined)?.stack, path }, 'unhandled error');
          respond(req, res, toResponse(e), path, t0);
        },
      );
    });
    return true;
  }

  return {
    handle,
    startClosing() {
      closing = true;
    },
  };
}
