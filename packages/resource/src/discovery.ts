import { fetchJson, HttpJsonError, isObject, type FetchLike } from './http-json.js';

/** The RFC 8414 §2 metadata members this library reads. */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  dpop_signing_alg_values_supported?: string[];
  [member: string]: unknown;
}

export type DiscoveryMode = 'auto' | 'oauth-authorization-server' | 'openid-configuration';

/**
 * RFC 8414 §3.1: the well-known suffix is inserted between the host and the
 * issuer's path ("https://as/t1" → "https://as/.well-known/oauth-authorization-server/t1").
 * OpenID Connect Discovery 1.0 §4 appends it instead ("https://as/t1/.well-known/openid-configuration").
 */
export function discoveryUrls(issuer: string, mode: DiscoveryMode): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const rfc8414 = `${url.origin}/.well-known/oauth-authorization-server${path}`;
  const oidc = `${url.origin}${path}/.well-known/openid-configuration`;
  if (mode === 'oauth-authorization-server') return [rfc8414];
  if (mode === 'openid-configuration') return [oidc];
  return [rfc8414, oidc];
}

/**
 * Fetches the issuer's metadata, trying each discovery URL in turn, and checks
 * RFC 8414 §3.3: "The issuer value returned MUST be identical to the
 * authorization server's issuer identifier value into which the well-known URI
 * string was inserted" — the defence against metadata impersonation (RFC 8414 §6.2).
 */
export async function discover(
  issuer: string,
  mode: DiscoveryMode,
  options: { fetch: FetchLike; timeoutMs: number },
): Promise<AuthorizationServerMetadata> {
  const failures: string[] = [];
  for (const url of discoveryUrls(issuer, mode)) {
    try {
      const { status, body } = await fetchJson(url, { ...options, maxBytes: 256 * 1024 });
      if (status !== 200) throw new HttpJsonError(`HTTP ${status}`, status);
      if (!isObject(body)) throw new HttpJsonError('metadata is not a JSON object');
      if (body.issuer !== issuer) throw new HttpJsonError('metadata "issuer" differs from the configured issuer');
      for (const member of ['jwks_uri', 'introspection_endpoint'] as const) {
        if (body[member] !== undefined && typeof body[member] !== 'string') throw new HttpJsonError(`metadata "${member}" is not a string`);
      }
      return body as AuthorizationServerMetadata;
    } catch (err) {
      failures.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new HttpJsonError(failures.join('; '));
}
