import type { Logger } from 'pino';
import { OAuthError, StoreUnavailableError, invalidRequest, temporarilyUnavailable, toResponse } from '../shared/errors.js';
import { credentialClientId } from '../client-auth/guarded.js';
import type { GuardedAuthentication } from '../client-auth/guarded.js';
import type { AuthenticatedClient } from '../client-auth/types.js';
import type { Metrics } from '../observability/metrics.js';
import { bindSender, type SenderConstraints } from '../tokens/binding.js';
import type { Minter } from '../tokens/mint.js';
import { NO_STORE, parseForm, type FormParams, type OAuthResponse } from '../shared/oauth-request.js';
import type { Minted } from '../tokens/mint.js';
import { parseScope } from '../shared/scope.js';
import type { ProtocolEndpoint } from './endpoint.js';

const REPEATABLE = new Set(['resource']);
const CLIENT_CREDENTIALS = 'client_credentials';
export const TOKEN_PATH = '/oauth2/token';

/** RFC 8707 §2: an absolute URI without a fragment. */
export function isValidResource(r: string): boolean {
  if (r.length > 2048 || r.includes('#')) return false;
  try {
    const u = new URL(r);
    return u.protocol.length > 1;
  } catch {
    return false;
  }
}

/** Scope: a subset of the client's allowed scopes — refused loudly, never narrowed silently (SPEC §3). */
function grantedScope(params: FormParams, c: AuthenticatedClient): string {
  const requested = params.get('scope');
  if (requested === undefined) {
    const d = c.client.record.default_scope;
    return d ?? c.client.record.scope;
  }
  const wanted = parseScope(requested);
  for (const s of wanted) {
    if (!c.client.allowedScopes.has(s)) throw new OAuthError('invalid_scope', 'the requested scope is not allowed for this client');
  }
  return wanted.join(' ');
}

/** Audience from RFC 8707 resource indicators, or the client's / server's default. */
function audience(params: FormParams, c: AuthenticatedClient, defaultAudience: string): string[] {
  const allowed = c.client.record.audience.length > 0 ? c.client.record.audience : [defaultAudience];
  const resources = params.all('resource');
  if (resources.length === 0) return [allowed[0]!];
  const out: string[] = [];
  for (const r of resources) {
    if (!isValidResource(r)) throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment');
    if (!allowed.includes(r)) throw new OAuthError('invalid_target', 'the requested resource is not allowed for this client');
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** The 200's headers without a sender constraint's own: one shared, frozen object (the HTTP layer copies it). */
const OK_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json; charset=utf-8', ...NO_STORE });

/**
 * The token response body from fixed fragments instead of `JSON.stringify` of an object (issue #16): the
 * same bytes, key order and JSON. The token is base64url (JWT or `lko_`) and the type a fixed word, so
 * only the scope goes through the JSON encoder.
 */
export function tokenResponse(m: Minted, extraHeaders: Record<string, string> | undefined): OAuthResponse {
  const body = `{"access_token":"${m.access_token}","token_type":"${m.token_type}","expires_in":${m.expires_in},"scope":${JSON.stringify(m.scope)}}`;
  return { status: 200, headers: extraHeaders ? { ...OK_HEADERS, ...extraHeaders } : OK_HEADERS, body };
}

/** Everything the token endpoint works with — all required: a missing collaborator does not compile. */
export interface TokenEndpointDeps {
  readonly issuer: string;
  /** Audience for clients without one and no resource parameter. */
  readonly defaultAudience: string;
  /** Client authentication behind the brute-force limits. */
  readonly authenticate: GuardedAuthentication;
  /** Sender constraints, DPoP first (tokens/binding.ts). */
  readonly binders: SenderConstraints;
  readonly minter: Minter;
  /** True while the store has been unreachable for longer than storeOutageGrace (then 503). */
  readonly storeOutageExceeded: () => boolean;
  readonly metrics: Pick<Metrics, 'tokensIssued' | 'tokenLatency' | 'storeErrors'>;
  readonly log: Logger;
}

/** POST /oauth2/token — RFC 6749 §4.4 client credentials grant, as SPEC §3 "Token endpoint behaviour". */
export function tokenEndpoint(d: TokenEndpointDeps): ProtocolEndpoint {
  const { authenticate, binders, minter, metrics, log } = d;
  let metadata: Record<string, unknown> = {
    token_endpoint: `${d.issuer}${TOKEN_PATH}`,
    grant_types_supported: [CLIENT_CREDENTIALS],
    token_endpoint_auth_methods_supported: [...authenticate.methods],
  };
  for (const b of binders) metadata = { ...metadata, ...b.metadata };
  return {
    path: TOKEN_PATH,
    metadata,
    async handle(req) {
      const started = process.hrtime.bigint();
      let outcome = 'error';
      let clientId: string | undefined;
      try {
        // 1. parse: form body only, every parameter but `resource` at most once (RFC 6749 §3.2, RFC 8707 §2).
        const params = parseForm(req);
        params.rejectRepeated(REPEATABLE);
        // 2. store outage: cached clients keep working for storeOutageGrace seconds, then 503 (docs/operations.md).
        if (d.storeOutageExceeded()) throw temporarilyUnavailable('store unreachable for longer than storeOutageGrace');
        // 3–4. brute-force limits (before any secret is checked), then client authentication.
        clientId = credentialClientId(req, params); // the id the credentials name, only when of the client-id syntax
        const { auth } = await authenticate.authenticate(req, params, 'token', clientId);
        clientId = auth.client.record.client_id;
        // 5. grant type.
        const grantType = params.get('grant_type');
        if (grantType === undefined) throw invalidRequest('grant_type is required');
        if (grantType !== CLIENT_CREDENTIALS) throw new OAuthError('unsupported_grant_type', 'only client_credentials is supported');
        if (!auth.client.allowsClientCredentials) {
          throw new OAuthError('unauthorized_client', 'this client may not use the client_credentials grant');
        }
        // 6. scope and audience.
        const scope = grantedScope(params, auth);
        const aud = audience(params, auth, d.defaultAudience);
        // 7. sender constraint (DPoP proof or client certificate).
        const binding = await bindSender(binders, req, auth);
        // 8. issue.
        const minted = await minter.mint({ client: auth.client, scope, aud, cnf: binding?.cnf, tokenType: binding?.tokenType ?? 'Bearer' });
        outcome = 'issued';
        metrics.tokensIssued.inc({ format: auth.client.record.access_token_format, method: auth.method });
        return tokenResponse(minted, binding?.headers);
      } catch (e) {
        if (e instanceof OAuthError) {
          outcome = e.error;
          // Why a request was refused, for operators: the private detail (never a secret or token), the client
          // id as presented, and the address. One line per refusal, at info.
          if (log.isLevelEnabled('info')) {
            log.info({ endpoint: 'token', error: e.error, detail: e.detail, client_id: clientId?.slice(0, 128), address: req.remoteAddress }, 'token request refused');
          }
          return toResponse(e);
        }
        if (e instanceof StoreUnavailableError) {
          outcome = 'temporarily_unavailable';
          metrics.storeErrors.inc();
          return toResponse(e);
        }
        // Anything else: the HTTP layer logs it and answers 500 (toResponse).
        throw e;
      } finally {
        metrics.tokenLatency.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    },
  };
}
