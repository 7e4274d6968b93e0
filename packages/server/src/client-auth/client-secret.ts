import { invalidClient, invalidRequest, OAuthError } from '../shared/errors.js';
import { header, type FormParams, type OAuthRequest } from '../shared/oauth-request.js';
import type { CachedClient, ClientCache } from '../store/client-cache.js';
import type { SecretHasher } from './secret-hash.js';
import type { AuthenticatedClient, ClientAuthenticator } from './types.js';
import { VerifiedCredentials } from './verified-credentials.js';

/** What the secret methods need. */
export interface SecretContext {
  readonly clients: ClientCache;
  readonly hasher: SecretHasher;
  /** For the Basic challenge's realm. */
  readonly issuer: string;
}

const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));

/** Adds `WWW-Authenticate: Basic` to 401s for Basic requests (RFC 6749 §5.2). */
export function basicChallenge(realm: string): Record<string, string> {
  return { 'www-authenticate': `Basic realm="${realm.replace(/["\\]/g, '')}", charset="UTF-8"` };
}

/**
 * The common secret check: same work for unknown clients, wrong secrets, disabled clients and
 * clients registered with another method, so none of these is distinguishable (SPEC §3).
 */
export function checkSecret(
  ctx: Pick<SecretContext, 'clients' | 'hasher'>,
  clientId: string,
  secret: string,
  method: 'client_secret_basic' | 'client_secret_post',
  now = Date.now(),
): AuthenticatedClient {
  const c: CachedClient | undefined = ctx.clients.get(clientId);
  const hashes: string[] = [];
  if (c) for (const s of c.secrets) if (s.expires_at == null || s.expires_at > now) hashes.push(s.hash);
  const ok = ctx.hasher.verify(secret, hashes);
  if (!c || !ok) throw invalidClient(c ? 'wrong or expired secret' : 'unknown client');
  if (c.record.disabled) throw invalidClient('client disabled');
  // SPEC §3: each client is registered with exactly one method; any other is invalid_client.
  if (c.record.token_endpoint_auth_method !== method) throw invalidClient(`client is registered for ${c.record.token_endpoint_auth_method}`);
  return { client: c, method };
}

/** The client_id of a Basic header, without checking anything (used to key rate limits). */
export function peekBasicClientId(req: OAuthRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || h.length > 4096) return undefined;
  const m = /^basic +([A-Za-z0-9+/=_-]*) *$/i.exec(h);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return formDecode(decoded.slice(0, colon)).slice(0, 256);
  } catch {
    return undefined;
  }
}

/** RFC 6749 §2.3.1 HTTP Basic: id and secret are form-url-encoded before base64. */
export function clientSecretBasic(ctx: SecretContext): ClientAuthenticator {
  const challenge = basicChallenge(ctx.issuer);
  const verified = new VerifiedCredentials(ctx.clients);
  const withChallenge = (e: OAuthError) => {
    e.headers = { ...(e.headers ?? {}), ...challenge };
    return e;
  };
  return {
    kind: 'basic',
    methods: ['client_secret_basic'],
    metadata: {},
    present(req) {
      return header(req, 'authorization') !== undefined;
    },
    async authenticate(req: OAuthRequest) {
      const h = header(req, 'authorization')!;
      // Repeat caller with the exact header that was verified before, for the same client state (verified-credentials.ts).
      const now = Date.now();
      const key = h.length <= 4096 ? verified.keyOf(h) : undefined;
      const hit = key === undefined ? undefined : verified.get(key, now);
      if (hit) return { client: hit, method: 'client_secret_basic' };
      const m = /^basic +([A-Za-z0-9+/=_-]*) *$/i.exec(h);
      if (!m) throw withChallenge(invalidClient('unsupported authorization scheme'));
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon === -1) throw withChallenge(invalidClient('malformed basic credentials'));
      let id: string, secret: string;
      try {
        id = formDecode(decoded.slice(0, colon));
        secret = formDecode(decoded.slice(colon + 1));
      } catch {
        throw withChallenge(invalidClient('malformed basic credentials encoding'));
      }
      try {
        const ok = checkSecret(ctx, id, secret, 'client_secret_basic', now);
        if (key !== undefined) verified.remember(key, ok.client, now);
        return ok;
      } catch (e) {
        throw e instanceof OAuthError ? withChallenge(e) : e;
      }
    },
  };
}

/** RFC 6749 §2.3.1 credentials in the request body (client_id + client_secret). */
export function clientSecretPost(ctx: SecretContext): ClientAuthenticator {
  const verified = new VerifiedCredentials(ctx.clients);
  return {
    kind: 'post',
    methods: ['client_secret_post'],
    metadata: {},
    present(_req, params: FormParams) {
      return params.has('client_secret');
    },
    async authenticate(_req, params: FormParams) {
      const id = params.get('client_id');
      const secret = params.get('client_secret')!;
      if (!id) throw invalidRequest('client_id is required with client_secret');
      const now = Date.now();
      // The pair, unambiguously (the id's length first): ids and secrets may contain any character.
      const key = id.length + secret.length <= 4096 ? verified.keyOf(`${id.length}:${id}${secret}`) : undefined;
      const hit = key === undefined ? undefined : verified.get(key, now);
      if (hit) return { client: hit, method: 'client_secret_post' };
      const ok = checkSecret(ctx, id, secret, 'client_secret_post', now);
      if (key !== undefined) verified.remember(key, ok.client, now);
      return ok;
    },
  };
}
