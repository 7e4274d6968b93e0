import { LatchkeyClientError } from './errors.js';
import { errorFromResponse, parseRetryAfter, readJson, redactUrl, sendOnce, type HttpContext } from './http.js';

/** The RFC 8414 §2 members this library uses; every other member is kept as-is. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  jwks_uri?: string;
  token_endpoint_auth_methods_supported?: string[];
  dpop_signing_alg_values_supported?: string[];
  /** RFC 8705 §5: endpoints to use when presenting a client certificate. */
  mtls_endpoint_aliases?: { token_endpoint?: string; introspection_endpoint?: string; revocation_endpoint?: string };
  [member: string]: unknown;
}

/**
 * The two discovery URLs for an issuer, in the order tried:
 * RFC 8414 §3.1 inserts `/.well-known/oauth-authorization-server` between host and path;
 * OpenID Connect Discovery 1.0 §4 appends `/.well-known/openid-configuration` to the issuer.
 */
export function discoveryUrls(issuer: string): [string, string] {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
}

/**
 * Fetches and validates authorization server metadata (one attempt per URL; the caller retries).
 * Checks that `issuer` equals the configured issuer exactly (RFC 8414 §3.3) and that
 * `token_endpoint` is an absolute http(s) URL. Does not check any other member.
 */
export async function fetchMetadata(ctx: HttpContext, issuer: string): Promise<AuthorizationServerMetadata> {
  const urls = discoveryUrls(issuer);
  let lastError: LatchkeyClientError | undefined;
  for (const url of urls) {
    const response = await sendOnce(ctx, url, { method: 'GET', headers: { accept: 'application/json' } });
    const body = await readJson(response, url);
    if (response.status === 200) {
      return validateMetadata(body, issuer, url);
    }
    const err = errorFromResponse(response.status, body, parseRetryAfter(response.headers.get('retry-after')), `discovery ${redactUrl(url)}`);
    // 404/405/…: try the next well-known URL. A transient failure is reported so the caller can retry.
    if (err.retryable) throw err;
    lastError = err;
  }
  throw new LatchkeyClientError('ERR_DISCOVERY', `no authorization server metadata found for issuer ${issuer}`, {
    status: lastError?.status,
    cause: lastError,
  });
}

function validateMetadata(body: unknown, issuer: string, url: string): AuthorizationServerMetadata {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new LatchkeyClientError('ERR_DISCOVERY', `${redactUrl(url)} did not return a JSON object`);
  }
  const m = body as Record<string, unknown>;
  // RFC 8414 §3.3: "The "issuer" value returned MUST be identical to the authorization server's
  // issuer identifier value into which the well-known URI string was inserted ... If these values
  // are not identical, the data contained in the response MUST NOT be used."
  if (m.issuer !== issuer) {
    throw new LatchkeyClientError(
      'ERR_DISCOVERY',
      `issuer mismatch: configured ${JSON.stringify(issuer)}, metadata says ${JSON.stringify(String(m.issuer)).slice(0, 200)}`,
    );
  }
  if (!isHttpUrl(m.token_endpoint)) {
    throw new LatchkeyClientError('ERR_DISCOVERY', 'metadata has no valid token_endpoint');
  }
  return m as AuthorizationServerMetadata;
}

export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hash === '';
  } catch {
    return false;
  }
}
