import type { ClientRecord } from '../../src/store/types.js';

/** A complete client record for store-level tests (client_secret_basic, JWT tokens); `over` replaces fields. */
export function clientRecord(id: string, at: number, over: Partial<ClientRecord> = {}): ClientRecord {
  return {
    client_id: id,
    client_name: `name of ${id}`,
    scope: 'a b',
    default_scope: null,
    audience: ['https://api.example.com', 'https://b.example.com'],
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    jwks: null,
    jwks_uri: null,
    access_token_ttl: null,
    access_token_format: 'jwt',
    extra: {},
    secret_sealed: null,
    disabled: false,
    created_at: at,
    updated_at: at,
    ...over,
  };
}
