import type { AccessTokenClaims, AuthInfo, ErrorResponse, ResourceServer } from '../resource-server.js';
import type { ResourceError } from '../errors.js';
import type { CertificateInput } from '../mtls.js';
import { toRequirement, type ScopeInput } from '../scopes.js';

export interface FetchAdapterOptions {
  scopes?: ScopeInput;
  /** Supplies the TLS client certificate when your runtime exposes one (RFC 8705). */
  clientCertificate?: (request: Request) => CertificateInput | undefined;
  /**
   * The TCP peer's address, when your runtime exposes it (Bun `server.requestIP(req)`, Deno
   * `info.remoteAddr`, Hono `getConnInfo(c)`). Needed with the `trustedProxies` option: without it
   * `trustedCertificateHeader` is not read.
   */
  remoteAddress?: (request: Request) => string | undefined;
}

/** Turns an {@link ErrorResponse} into a fetch `Response`. */
export function toFetchResponse(response: ErrorResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return new Response(response.body === '' ? null : response.body, { status: response.status, headers });
}

/**
 * Framework-free check for `Request` → `Response` handlers (Hono, Bun, Deno,
 * Next.js route handlers, undici servers). Resolves to `{ ok: true, auth }`
 * or `{ ok: false, response }` with the RFC 6750 §3 error ready to return.
 * The DPoP `htu` is checked against `request.url` (or `publicOrigin`); a runtime
 * behind a proxy that rewrites the URL needs `publicOrigin`. mTLS binding needs
 * the `clientCertificate` option (fetch `Request`s carry no TLS information), or a proxy's
 * `trustedCertificateHeader` (with `remoteAddress` when `trustedProxies` is set).
 *
 * @example
 * // Hono
 * app.use('/api/*', async (c, next) => {
 *   const result = await authenticateRequest(rs, c.req.raw, { scopes: 'read:orders' });
 *   if (!result.ok) return result.response;
 *   c.set('auth', result.auth);
 *   await next();
 * });
 */
export async function authenticateRequest<C extends AccessTokenClaims = AccessTokenClaims>(
  rs: ResourceServer<C>,
  request: Request,
  options: FetchAdapterOptions = {},
): Promise<{ ok: true; auth: AuthInfo<C> } | { ok: false; error: ResourceError; response: Response }> {
  const getCert = options.clientCertificate;
  const outcome = await rs.authenticate(
    {
      method: request.method,
      url: request.url,
      headers: request.headers,
      ...(getCert ? { clientCertificate: () => getCert(request) } : {}),
      ...(options.remoteAddress ? { remoteAddress: options.remoteAddress(request) } : {}),
    },
    options.scopes,
  );
  if (outcome.ok) return outcome;
  return { ok: false, error: outcome.error, response: toFetchResponse(outcome.response) };
}

/**
 * Wraps a `Request` → `Response` handler so it only runs with a valid token.
 *
 * @example
 * export default { fetch: withAuth(rs, (req, auth) => Response.json({ client: auth.clientId }), { scopes: 'read:orders' }) };
 */
export function withAuth<C extends AccessTokenClaims = AccessTokenClaims, A extends unknown[] = []>(
  rs: ResourceServer<C>,
  handler: (request: Request, auth: AuthInfo<C>, ...rest: A) => Response | Promise<Response>,
  options: FetchAdapterOptions = {},
): (request: Request, ...rest: A) => Promise<Response> {
  const prepared = { ...options, scopes: toRequirement(options.scopes) }; // validated now, not on the first request
  return async (request, ...rest) => {
    const result = await authenticateRequest(rs, request, prepared);
    return result.ok ? handler(request, result.auth, ...rest) : result.response;
  };
}
