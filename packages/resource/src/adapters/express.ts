import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTokenClaims, AuthInfo, ResourceServer } from '../resource-server.js';
import { ResourceError } from '../errors.js';
import { toRequirement } from '../scopes.js';
import { fromNodeRequest, sendNodeError, type NodeAdapterOptions } from './node-http.js';

/** The request as seen by handlers after {@link expressAuth}: `req.auth` is set. */
export type WithAuth<Req, C extends AccessTokenClaims = AccessTokenClaims> = Req & { auth: AuthInfo<C> };

export interface ExpressAuthOptions extends NodeAdapterOptions {
  /** Pass the `ResourceError` to `next(err)` instead of answering (for your own error handler). Default false. */
  passErrors?: boolean;
}

/** Minimal structural view of an Express request (so this package does not import express). */
interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string;
  protocol?: string;
  host?: string;
  auth?: AuthInfo<AccessTokenClaims>;
}

/**
 * Express middleware (RFC 6750 §2.1 header tokens; errors per §3): verifies the token, sets `req.auth`
 * (an {@link AuthInfo}) and calls `next()`; otherwise answers with the RFC 6750
 * error. With `passErrors`, calls `next(err)` with a {@link ResourceError}
 * carrying `status` and a prepared `response` instead.
 *
 * The public URL for DPoP `htu` comes from the `publicOrigin` option, or from
 * Express's `req.protocol`/`req.host` (which honour Express's `trust proxy` setting).
 *
 * @example
 * app.get('/orders', expressAuth(rs, { scopes: requireScopes('read:orders') }), (req, res) => {
 *   res.json({ client: getAuth(req).clientId });
 * });
 */
export function expressAuth<C extends AccessTokenClaims = AccessTokenClaims>(
  rs: ResourceServer<C>,
  options: ExpressAuthOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const { passErrors = false, trustProxy = false } = options;
  const scopes = toRequirement(options.scopes); // validated now, not on the first request
  return (request, res, next) => {
    const req = request as ExpressLikeRequest;
    const path = req.originalUrl ?? req.url ?? '/';
    const facts = fromNodeRequest(req, { trustProxy, path });
    if (typeof req.protocol === 'string' && typeof req.host === 'string' && req.host !== '') {
      facts.url = `${req.protocol}://${req.host}${path}`;
    }
    rs.authenticate(facts, scopes).then(
      (outcome) => {
        if (outcome.ok) {
          req.auth = outcome.auth;
          next();
        } else if (passErrors) {
          next(Object.assign(outcome.error, { response: outcome.response }));
        } else {
          sendNodeError(res, outcome.response);
        }
      },
      (err: unknown) => next(err),
    );
  };
}

/**
 * The verified token of a request that went through one of the adapters. Throws
 * `ERR_MISSING_TOKEN` if the request was not authenticated (a wiring mistake).
 */
export function getAuth<C extends AccessTokenClaims = AccessTokenClaims>(req: object): AuthInfo<C> {
  const auth = (req as { auth?: unknown }).auth;
  if (auth === undefined || auth === null) throw new ResourceError('ERR_MISSING_TOKEN', 'request was not authenticated by @latchkey/resource');
  return auth as AuthInfo<C>;
}
