/**
 * RFC 8414 §2 authorization server metadata, built from the parts the server actually runs: the
 * endpoints (each states its URL and the auth methods it accepts — those of the authenticators it was
 * built with) and any other contribution (registration). Advertises only what is enabled (SPEC §4).
 */
export function authorizationServerMetadata(o: {
  issuer: string;
  endpoints: readonly { readonly metadata: Readonly<Record<string, unknown>> }[];
  /** Authenticator metadata (signing algorithms of the assertion methods) — the same authenticators the endpoints use. */
  authentication: { readonly metadata: Readonly<Record<string, unknown>> };
  extra?: readonly Readonly<Record<string, unknown>>[];
}): Record<string, unknown> {
  let doc: Record<string, unknown> = {
    issuer: o.issuer,
    jwks_uri: `${o.issuer}/.well-known/jwks.json`,
    // RFC 8414 requires the member; a client-credentials-only server supports no response type.
    response_types_supported: [],
    // RFC 9068 access tokens; these are also the algorithms our JWKS may hold.
    access_token_signing_alg_values_supported: ['ES256', 'EdDSA', 'RS256', 'PS256'],
    service_documentation: 'https://github.com/latchkey/latchkey#readme',
  };
  for (const e of o.endpoints) doc = { ...doc, ...e.metadata };
  doc = { ...doc, ...o.authentication.metadata };
  for (const x of o.extra ?? []) doc = { ...doc, ...x };
  return doc;
}
