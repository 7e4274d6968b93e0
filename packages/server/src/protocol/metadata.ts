import { authenticators } from '../client-auth/index.js';
import type { Services } from '../services.js';
import type { TokenEndpointAuthMethod } from '../store/types.js';

/** Modules that add endpoints or capabilities contribute their metadata fields here. */
export const metadataContributors: ((s: Services) => Record<string, unknown>)[] = [];

/** Auth methods that are usable with the current configuration (e.g. TLS methods need a TLS listener). */
export const methodEnabled: Partial<Record<TokenEndpointAuthMethod, (s: Services) => boolean>> = {};

/** RFC 8414 §2 authorization server metadata. Advertises only what is enabled (SPEC §4). */
export function buildMetadata(s: Services): Record<string, unknown> {
  const iss = s.config.issuer;
  const methods: string[] = [];
  for (const a of authenticators) for (const m of a.methods) if ((methodEnabled[m]?.(s) ?? true) && !methods.includes(m)) methods.push(m);
  const doc: Record<string, unknown> = {
    issuer: iss,
    token_endpoint: `${iss}/oauth2/token`,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    grant_types_supported: ['client_credentials'],
    // RFC 8414 requires the member; a client-credentials-only server supports no response type.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: methods,
    // RFC 9068 access tokens; these are also the algorithms our JWKS may hold.
    access_token_signing_alg_values_supported: ['ES256', 'EdDSA', 'RS256', 'PS256'],
    service_documentation: 'https://github.com/latchkey/latchkey#readme',
  };
  for (const c of metadataContributors) Object.assign(doc, c(s));
  return doc;
}
