import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AdminAuthenticator } from '../admin/admin-auth.js';
import { bearerToken, invalidToken } from '../shared/bearer.js';
import { ADMIN_PREFIX, CONSOLE_MARK_HEADER } from '../admin/admin-api.js';
import { ADMIN_SCOPE } from '../shared/scope.js';
import { OPAQUE_TOKEN_PREFIX } from '../shared/token-prefixes.js';
import { OAuthError, StoreUnavailableError, errSummary, toResponse, type OAuthErrorCode } from '../shared/errors.js';
import type { OAuthRequest, OAuthResponse } from '../shared/oauth-request.js';
import type { Sealer } from '../keys/seal.js';
import type { ClientCache } from '../store/client-cache.js';
import type { Store } from '../store/store.js';
import type { RevocationCache } from '../tokens/revocations.js';
import { opaqueTokenHash } from '../tokens/mint.js';
import type { OpaqueTokenCache } from '../tokens/opaque-cache.js';
import type { OwnTokenVerifier } from '../tokens/verify-own.js';
import { newSession, openSession, readCookie, safeEqual, sealSession, type ConsoleSession } from './sessions.js';

/**
 * Strict Content-Security-Policy for the console (no inline script or style, no eval, no framing,
 * same-origin fetches only). The Vite build emits external files only (packages/console/vite.config.ts).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** Where the built console lives: packages/console/dist (same relative path from src/ and dist/). */
export function consoleDir(configured?: string): string {
  // Installed package first (npm pack copies the built console to <package>/console/), then the workspace build.
  const installed = fileURLToPath(new URL('../../console/', import.meta.url));
  return configured ?? (existsSync(join(installed, 'index.html')) ? installed : fileURLToPath(new URL('../../../console/dist/', import.meta.url)));
}

function loadStatic(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!existsSync(join(dir, 'index.html'))) return files;
  files.set('/', { body: readFileSync(join(dir, 'index.html')), type: TYPES['.html']! });
  const assets = join(dir, 'assets');
  if (existsSync(assets)) {
    for (const f of readdirSync(assets)) {
      const type = TYPES[extname(f)];
      if (type && /^[A-Za-z0-9._-]+$/.test(f)) files.set(`/assets/${f}`, { body: readFileSync(join(assets, f)), type });
    }
  }
  return files;
}

export const CONSOLE_API = '/console/api';

const json = (reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) =>
  reply
    .code(status)
    .headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers })
    .send(body === undefined ? '' : JSON.stringify(body));

/** Errors go through the one error boundary (shared/errors.ts toResponse), with the console's security headers. */
const sendError = (reply: FastifyReply, e: unknown, headers: Record<string, string> = {}) => {
  const r = toResponse(e);
  return reply.code(r.status).headers({ ...r.headers, ...SECURITY_HEADERS, ...headers }).send(r.body);
};

const fail = (reply: FastifyReply, status: number, error: OAuthErrorCode, description: string) => sendError(reply, new OAuthError(error, description, { status }));

/**
 * The web console (SPEC §3 `GET /`): static files built by Vite, and a small same-origin API.
 *
 * - Sign-in: the browser posts admin client credentials once; the server runs the client credentials
 *   grant in-process (the same token endpoint code, rate limits included), checks that the token
 *   opens the admin API, and seals it into the session cookie (sessions.ts): HttpOnly, SameSite=Strict,
 *   Secure under https. Scripts never see the token; it is never in web storage. Sign-out revokes it.
 * - CSRF: every state-changing console call must carry the session's synchronizer token in
 *   X-CSRF-Token, and a cross-site Origin / Sec-Fetch-Site is refused outright.
 * - `/console/api/admin/*` forwards to `/admin/v1/*` with the session's Bearer token, so the console
 *   obeys exactly the admin API's rules (and its audit entries say `console:`).
 * - `/console/api/try/resource` is a demo protected API for the "try it" panel.
 *
 * All hooks are route-level; nothing here runs for the token endpoint.
 */
export interface ConsoleDeps {
  readonly issuer: string;
  /** Built console files (config consoleDir), or undefined for packages/console/dist. */
  readonly consoleDir: string | undefined;
  readonly store: Store;
  readonly sealer: Sealer;
  /** Verifies this server's own JWT access tokens (try-it). */
  readonly ownTokens: OwnTokenVerifier;
  readonly clients: Pick<ClientCache, 'get'>;
  readonly revocations: Pick<RevocationCache, 'add' | 'has'>;
  /** Sign-out revokes an opaque session token through this node's opaque-token cache (store + memory). */
  readonly opaqueTokens: Pick<OpaqueTokenCache, 'revoke'>;
  readonly adminAuth: AdminAuthenticator;
  /** The token endpoint the server serves: sign-in runs the client credentials grant through it, in process. */
  readonly tokenEndpoint: { handle(req: OAuthRequest): Promise<OAuthResponse> };
  /** The per-process mark the admin API recognises as "console:" (admin-api.ts CONSOLE_MARK_HEADER). */
  readonly consoleMark: string;
  readonly log: Logger;
}

export function consoleFeature(s: ConsoleDeps): { readonly name: string; readonly plugin: FastifyPluginAsync } {
  return { name: 'console', plugin: (app) => installConsole(app, s) };
}

async function installConsole(app: FastifyInstance, s: ConsoleDeps): Promise<void> {
  const secure = s.issuer.startsWith('https:');
  const cookieName = secure ? '__Host-lk_console' : 'lk_console';
  const issuerOrigin = new URL(s.issuer).origin;
  let files = loadStatic(consoleDir(s.consoleDir));

  const cookie = (value: string, maxAgeSeconds: number) =>
    `${cookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;

  /** Sign-ins are audited like changes; an audit write failure is logged, not fatal (the store may be down while tokens still work). */
  const audit = async (action: string, clientId: string, after: Record<string, unknown> | null) => {
    try {
      await s.store.addAudit({ at: Date.now(), actor: `console:${clientId}`, action, target: clientId, before: null, after });
    } catch (e) {
      s.log.warn({ err: errSummary(e), action }, 'console audit write failed');
    }
  };

  /** RFC 7009-style revocation of the session's token, so a copied cookie is dead everywhere after sign-out. */
  const revokeSessionToken = async (sess: ConsoleSession) => {
    const t = sess.accessToken;
    if (t.startsWith(OPAQUE_TOKEN_PREFIX)) {
      await s.opaqueTokens.revoke(opaqueTokenHash(t));
      return;
    }
    // Our own token, taken from our own sealed cookie: its claims need no second verification here.
    const claims = JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown; exp?: unknown };
    if (typeof claims.jti === 'string' && typeof claims.exp === 'number') {
      await s.store.revokeJti(claims.jti, sess.clientId, claims.exp);
      s.revocations.add(claims.jti, claims.exp);
    }
  };

  // ---- static files ----
  const serve = (path: string) => (_req: FastifyRequest, reply: FastifyReply) => {
    if (files.size === 0) files = loadStatic(consoleDir(s.consoleDir));
    const f = files.get(path);
    if (!f) {
      if (path === '/') {
        return reply
          .code(503)
          .headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS })
          .send('The Latchkey console is not built. Run `npm run build` (it builds packages/console).\n');
      }
      return fail(reply, 404, 'not_found', 'no such file');
    }
    return reply
      .code(200)
      .headers({
        'content-type': f.type,
        // Hashed asset names never change content; the page itself is always revalidated.
        'cache-control': path === '/' ? 'no-cache' : 'public, max-age=31536000, immutable',
        ...SECURITY_HEADERS,
      })
      .send(f.body);
  };
  app.get('/', serve('/'));
  app.get('/assets/:file', (req, reply) => serve(`/assets/${(req.params as { file: string }).file}`)(req, reply));

  // ---- CSRF and session checks (route-level) ----
  /** Refuses cross-site requests by their Fetch Metadata / Origin headers (browsers always send one of them on cross-site POSTs). */
  const sameOrigin = (req: FastifyRequest): boolean => {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== issuerOrigin) return false;
    return true;
  };
  /** The request's session, if its cookie opens and its token still opens the admin API (not expired, revoked, or of a disabled client). */
  const session = async (req: FastifyRequest): Promise<ConsoleSession | undefined> => {
    const sess = openSession(s.sealer, readCookie(req.headers.cookie, cookieName));
    if (!sess) return undefined;
    try {
      await s.adminAuth.authenticate(`Bearer ${sess.accessToken}`, undefined);
      return sess;
    } catch (e) {
      if (e instanceof OAuthError && e.status < 500) return undefined;
      throw e;
    }
  };
  const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
  /** Session + (for unsafe methods) same-origin and the synchronizer token; replies and returns undefined on failure. */
  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    if (UNSAFE.has(req.method) && !sameOrigin(req)) {
      void fail(reply, 403, 'access_denied', 'cross-site request refused');
      return undefined;
    }
    const sess = await session(req);
    if (!sess) {
      void sendError(reply, new OAuthError('login_required'), readCookie(req.headers.cookie, cookieName) ? { 'set-cookie': cookie('', 0) } : {});
      return undefined;
    }
    if (UNSAFE.has(req.method)) {
      const t = req.headers['x-csrf-token'];
      if (typeof t !== 'string' || !safeEqual(t, sess.csrf)) {
        void fail(reply, 403, 'access_denied', 'missing or wrong CSRF token');
        return undefined;
      }
    }
    return sess;
  };

  // ---- session ----
  app.post(`${CONSOLE_API}/session`, async (req, reply) => {
    // Login CSRF: a cross-site page must not sign a victim in as the attacker's admin client.
    if (!sameOrigin(req)) return fail(reply, 403, 'access_denied', 'cross-site request refused');
    const b = req.body as { client_id?: unknown; client_secret?: unknown } | undefined;
    if (!b || typeof b !== 'object' || typeof b.client_id !== 'string' || typeof b.client_secret !== 'string' || !b.client_id || !b.client_secret) {
      return sendError(reply, new OAuthError('invalid_request', 'client_id and client_secret are required (JSON)', { field: !b || typeof b !== 'object' || !b.client_id ? 'client_id' : 'client_secret' }));
    }
    if (b.client_id.length > 256 || b.client_secret.length > 512) return fail(reply, 401, 'invalid_client', 'client authentication failed');
    // The console's own client-credentials exchange, through the real token endpoint code.
    const usePost = s.clients.get(b.client_id)?.record.token_endpoint_auth_method === 'client_secret_post';
    const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
    const form = `grant_type=client_credentials&scope=${enc(ADMIN_SCOPE)}` + (usePost ? `&client_id=${enc(b.client_id)}&client_secret=${enc(b.client_secret)}` : '');
    const res = await s.tokenEndpoint.handle({
        method: 'POST',
        url: `${s.issuer}/oauth2/token`,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(usePost ? {} : { authorization: 'Basic ' + Buffer.from(`${enc(b.client_id)}:${enc(b.client_secret)}`).toString('base64') }),
        },
        rawBody: form,
        remoteAddress: req.ip,
    });
    if (res.status !== 200) {
      const e = JSON.parse(res.body) as { error: string; error_description: string };
      // Failed sign-ins are audited with the claimed id (never the secret). Refusals by the brute-force
      // limit (429) are not: the attempts that spent the budget already are, and each row is a store write.
      if (res.status !== 429) await audit('console.signin_failed', b.client_id, { reason: e.error === 'invalid_scope' ? 'not_admin' : e.error, remote_address: req.ip });
      // invalid_scope: valid credentials of a client that may not have latchkey:admin.
      if (e.error === 'invalid_scope') return fail(reply, 403, 'access_denied', 'this client is not allowed the latchkey:admin scope');
      const retry = res.headers['retry-after'];
      return json(reply, res.status, e, retry ? { 'retry-after': retry } : {});
    }
    const { access_token, expires_in } = JSON.parse(res.body) as { access_token: string; expires_in: number };
    try {
      // The token must actually open the admin API (audience = issuer, not sender-constrained, …).
      await s.adminAuth.authenticate(`Bearer ${access_token}`, undefined);
    } catch (e) {
      if (e instanceof OAuthError) {
        await audit('console.signin_failed', b.client_id, { reason: 'token_not_admin', remote_address: req.ip });
        return fail(reply, 403, 'access_denied', `this client's tokens do not open the admin API (${e.description}); give it the issuer as audience`);
      }
      throw e;
    }
    const sess = newSession(b.client_id, access_token, Date.now() + expires_in * 1000);
    await audit('console.sign_in', sess.clientId, { expires_at: sess.expiresAt });
    return json(reply, 201, { client_id: sess.clientId, csrf_token: sess.csrf, expires_at: new Date(sess.expiresAt).toISOString() }, { 'set-cookie': cookie(sealSession(s.sealer, sess), expires_in) });
  });

  app.get(`${CONSOLE_API}/session`, async (req, reply) => {
    const sess = await guard(req, reply);
    if (!sess) return reply;
    return json(reply, 200, { client_id: sess.clientId, csrf_token: sess.csrf, expires_at: new Date(sess.expiresAt).toISOString(), issuer: s.issuer });
  });

  app.delete(`${CONSOLE_API}/session`, async (req, reply) => {
    const sess = await guard(req, reply);
    if (!sess) return reply;
    try {
      await revokeSessionToken(sess);
    } catch (e) {
      s.log.warn({ err: errSummary(e) }, 'console sign-out: token revocation failed');
      return sendError(reply, new OAuthError('temporarily_unavailable', 'signed out here, but the session token could not be revoked; retry', { headers: { 'retry-after': '1' } }), { 'set-cookie': cookie('', 0) });
    }
    await audit('console.sign_out', sess.clientId, null);
    return json(reply, 204, undefined, { 'set-cookie': cookie('', 0) });
  });

  // ---- the admin API, on behalf of the session ----
  const forward = async (req: FastifyRequest, reply: FastifyReply) => {
    const sess = await guard(req, reply);
    if (!sess) return reply;
    const rest = req.url.slice(`${CONSOLE_API}/admin`.length);
    // The session's admin token goes to /admin/v1 only: no dot segments or encoded separators that could
    // make the forwarded URL resolve to another endpoint.
    if (!rest.startsWith('/') || /\.\.|%2e|%2f|%5c|\\|\/\//i.test(rest.split('?', 1)[0]!)) return fail(reply, 400, 'invalid_request', 'malformed admin path');
    const hasBody = req.body !== undefined && req.body !== null && req.body !== '';
    const res = await app.inject({
      method: req.method as 'GET',
      url: `${ADMIN_PREFIX}${rest}`,
      headers: {
        authorization: `Bearer ${sess.accessToken}`,
        [CONSOLE_MARK_HEADER]: s.consoleMark,
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
      },
      ...(hasBody ? { payload: typeof req.body === 'string' ? req.body : JSON.stringify(req.body) } : {}),
    });
    const headers: Record<string, string> = {};
    // Token expired, revoked or its client disabled: the session is over, drop the cookie.
    if (res.statusCode === 401) headers['set-cookie'] = cookie('', 0);
    for (const h of ['location', 'allow', 'retry-after']) {
      const v = res.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    return reply
      .code(res.statusCode)
      .headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers })
      .send(res.body);
  };
  app.route({ method: ['GET', 'POST', 'PATCH', 'DELETE'], url: `${CONSOLE_API}/admin/*`, handler: forward });

  // ---- "try it": a demo protected API that checks a token the way a resource server would ----
  app.get(`${CONSOLE_API}/try/resource`, async (req, reply) => {
    // Only for signed-in console users (it is not a public token-checking oracle).
    if (!(await session(req))) return fail(reply, 401, 'login_required', 'sign in to the console');
    const challenge = (_error: 'invalid_token', description: string) => sendError(reply, invalidToken(description, undefined, 'latchkey-demo'));
    let token: string | undefined;
    try {
      token = bearerToken(req.headers.authorization, req.headers.dpop, 'latchkey-demo');
    } catch (e) {
      return challenge('invalid_token', (e as OAuthError).description);
    }
    if (!token) return reply.code(401).headers({ 'www-authenticate': 'Bearer realm="latchkey-demo"', 'cache-control': 'no-store', ...SECURITY_HEADERS }).send('');
    try {
      let claims: { client_id: string; scope: string; aud: string | string[]; exp: number; jti: string };
      if (token.startsWith(OPAQUE_TOKEN_PREFIX)) {
        const rec = await s.store.getOpaqueToken(opaqueTokenHash(token));
        if (!rec || rec.exp <= Date.now() / 1000) return challenge('invalid_token', 'the access token is not valid');
        claims = { client_id: rec.client_id, scope: rec.scope, aud: rec.aud.length === 1 ? rec.aud[0]! : rec.aud, exp: rec.exp, jti: rec.jti };
      } else {
        const r = await s.ownTokens.verify(token);
        if (!r.ok || s.revocations.has(r.claims.jti)) return challenge('invalid_token', 'the access token is not valid');
        claims = { client_id: r.claims.client_id, scope: r.claims.scope ?? '', aud: r.claims.aud, exp: r.claims.exp, jti: r.claims.jti };
      }
      return json(reply, 200, {
        message: `hello, ${claims.client_id}`,
        checked: ['signature (issuer JWKS)', 'typ at+jwt', 'iss', 'exp', 'not revoked'],
        client_id: claims.client_id,
        scope: claims.scope,
        aud: claims.aud,
        expires_in: claims.exp - Math.floor(Date.now() / 1000),
      });
    } catch (e) {
      if (e instanceof StoreUnavailableError) return fail(reply, 503, 'temporarily_unavailable', 'the store is unavailable');
      s.log.error({ err: errSummary(e) }, 'console try-it error');
      return sendError(reply, e);
    }
  });
}

