import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AccessTokenClaims, AuthInfo, ErrorResponse, ProtectedResourceRequest, ResourceServer } from '../resource-server.js';
import { toRequirement, type ScopeInput } from '../scopes.js';

/** Options shared by the node-based adapters. */
export interface NodeAdapterOptions {
  /** Scopes every request must carry (`requireScopes(...)`, `requireAnyScope(...)`, or a string / array meaning all-of). */
  scopes?: ScopeInput;
  /**
   * Derive the request's public URL (for DPoP `htu`) from `X-Forwarded-Proto` / `X-Forwarded-Host`.
   * Only behind a proxy that sets them. Prefer the `publicOrigin` resource-server option.
   */
  trustProxy?: boolean;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/** The absolute URL of a node request, as far as the server can tell. */
export function nodeRequestUrl(req: IncomingMessage, trustProxy = false, path = req.url ?? '/'): string {
  const socket = req.socket as Partial<TLSSocket> | undefined;
  let proto = socket?.encrypted ? 'https' : 'http';
  let host = req.headers.host ?? 'localhost';
  if (trustProxy) {
    proto = firstValue(req.headers['x-forwarded-proto']) ?? proto;
    host = firstValue(req.headers['x-forwarded-host']) ?? host;
  }
  return `${proto}://${host}${path}`;
}

/**
 * Node keeps only the first `Authorization` header and joins repeated unknown
 * headers with ", "; RFC 6750 §3.1 and RFC 9449 §4.3 want repeats detected, so
 * look at `rawHeaders` and surface them as arrays.
 */
export function nodeHeaders(req: IncomingMessage): ProtectedResourceRequest['headers'] {
  const raw = req.rawHeaders;
  let auth = 0;
  let dpop = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') auth++;
    else if (name.length === 4 && name.toLowerCase() === 'dpop') dpop++;
  }
  if (auth <= 1 && dpop <= 1) return req.headers;
  const collect = (wanted: string) => {
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === wanted) out.push(raw[i + 1]!);
    return out;
  };
  return { ...req.headers, authorization: collect('authorization'), dpop: dpop > 1 ? collect('dpop') : req.headers.dpop };
}

/** The TLS client certificate of a node request (RFC 8705), read only when a token is certificate-bound. */
export function nodeClientCertificate(req: IncomingMessage): () => Buffer | undefined {
  return () => {
    const socket = req.socket as Partial<TLSSocket> | undefined;
    if (!socket?.encrypted || typeof socket.getPeerCertificate !== 'function') return undefined;
    const cert = socket.getPeerCertificate(false);
    return cert && cert.raw ? cert.raw : undefined;
  };
}

/** Builds the framework-neutral request view from a node `IncomingMessage`. */
export function fromNodeRequest(req: IncomingMessage, options: { trustProxy?: boolean; path?: string } = {}): ProtectedResourceRequest {
  return {
    method: req.method ?? 'GET',
    url: nodeRequestUrl(req, options.trustProxy, options.path),
    headers: nodeHeaders(req),
    clientCertificate: nodeClientCertificate(req),
    remoteAddress: req.socket?.remoteAddress,
  };
}

/** Writes an {@link ErrorResponse} to a node `ServerResponse`. */
export function sendNodeError(res: ServerResponse, response: ErrorResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.statusCode = response.status;
  res.end(response.body);
}

/**
 * A guard for plain `node:http` / `node:https` handlers. Resolves to the
 * verified {@link AuthInfo}, or writes the RFC 6750 §3 error and resolves to
 * `undefined` (then just return). Reads the token from the `Authorization` header
 * only (RFC 6750 §2.1), never from the body or query. Does not check anything about
 * the request beyond the token, its sender constraint and the scopes.
 *
 * @example
 * const guard = nodeHttpGuard(rs, { scopes: requireScopes('read:orders') });
 * http.createServer(async (req, res) => {
 *   const auth = await guard(req, res);
 *   if (!auth) return;
 *   res.end(JSON.stringify({ client: auth.clientId }));
 * });
 */
export function nodeHttpGuard<C extends AccessTokenClaims = AccessTokenClaims>(
  rs: ResourceServer<C>,
  options: NodeAdapterOptions = {},
): (req: IncomingMessage, res: ServerResponse, scopes?: ScopeInput) => Promise<AuthInfo<C> | undefined> {
  const { trustProxy = false } = options;
  const defaultScopes = toRequirement(options.scopes); // validated now, not on the first request
  return async (req, res, scopes) => {
    const outcome = await rs.authenticate(fromNodeRequest(req, { trustProxy }), scopes ?? defaultScopes);
    if (outcome.ok) return outcome.auth;
    sendNodeError(res, outcome.response);
    return undefined;
  };
}
