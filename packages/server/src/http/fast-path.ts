import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import { peerTrusted, trustedPeers } from './trusted-proxy.js';
import type { OAuthRequest, OAuthResponse } from '../shared/oauth-request.js';
import type { Services } from '../services.js';
import { errSummary } from '../services.js';

export type OAuthHandler = (r: OAuthRequest, s: Services) => Promise<OAuthResponse>;

/**
 * The hot paths — POST to the token, introspection and revocation endpoints — served straight from
 * node:http. Those endpoints are framework-free (OAuthRequest in, OAuthResponse out), so the router,
 * hooks and reply machinery of Fastify only add cost here — about a third of the CPU per token
 * (docs/performance.md). `routes` holds every POST-only OAuth endpoint (filled by the Fastify wiring as
 * it registers them); everything else (other endpoints, other methods on these paths, TLS listeners
 * with client certificates) goes to Fastify. Behaviour is the same on both paths: the endpoint tests run
 * against this one, and `test/http/fast-path.test.ts` checks the parity cases (413, query strings,
 * X-Forwarded-For) on each endpoint.
 */
export function createFastPathServer(
  s: Services,
  routes: ReadonlyMap<string, OAuthHandler>,
  bodyLimit: number,
  trustProxy: string | undefined,
  timeouts: { request: number; headers: number; keepAlive: number; connection: number },
) {
  const trusted: BlockList | undefined = trustedPeers(trustProxy);
  const issuer = s.config.issuer;
  const log = s.log;

  function clientAddress(req: IncomingMessage): string {
    let addr = req.socket.remoteAddress ?? '';
    if (!trusted) return addr;
    const xff = req.headers['x-forwarded-for'];
    if (typeof xff !== 'string') return addr;
    // Walk back through the proxies we trust; the first untrusted hop is the client (as proxy-addr does).
    const hops = xff.split(',');
    while (hops.length > 0 && peerTrusted(trusted, addr)) addr = hops.pop()!.trim();
    return addr;
  }

  function respond(res: ServerResponse, status: number, headers: Record<string, string>, body: string, path: string, t0: bigint) {
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(body);
    if (log.isLevelEnabled('info')) {
      log.info({ method: 'POST', path, status, ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100 }, 'request');
    }
  }

  function tooLarge(res: ServerResponse, req: IncomingMessage, path: string, t0: bigint) {
    respond(
      res,
      413,
      { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', connection: 'close' },
      JSON.stringify({ error: 'invalid_request', error_description: `request body larger than ${bodyLimit} bytes` }),
      path,
      t0,
    );
    req.resume();
  }

  /** Returns true when it took the request. */
  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const endpoint = routes.get(path);
    if (!endpoint) return false;
    const t0 = process.hrtime.bigint();
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > bodyLimit) {
      tooLarge(res, req, path, t0);
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
        tooLarge(res, req, path, t0);
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
        remoteAddress: clientAddress(req),
      };
      endpoint(oreq, s).then(
        (r) => respond(res, r.status, { ...r.headers }, r.body, path, t0),
        (e) => {
          log.error({ err: errSummary(e), stack: (e as Error)?.stack }, 'unhandled error');
          respond(res, 500, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, '{"error":"server_error","error_description":"internal error"}', path, t0);
        },
      );
    });
    return true;
  }

  /** Fastify `serverFactory`: our handler first, Fastify's for everything else. */
  // Fastify does not apply its timeouts to a server made by serverFactory: set the same ones here.
  return (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void): Server => {
    const server = createServer(
      { maxHeaderSize: 16 * 1024, requestTimeout: timeouts.request, headersTimeout: timeouts.headers, keepAliveTimeout: timeouts.keepAlive },
      (req, res) => {
        if (!handle(req, res)) fastifyHandler(req, res);
      },
    );
    server.setTimeout(timeouts.connection);
    return server;
  };
}
