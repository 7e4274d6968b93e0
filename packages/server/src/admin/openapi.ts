/**
 * OpenAPI 3.1 description of `/admin/v1`, served at `/admin/v1/openapi.json`. Kept by hand next to the
 * routes (admin-api.ts); test/admin/openapi.test.ts checks that every route is described and vice versa.
 */
export function openApiDocument(issuer: string): Record<string, unknown> {
  const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });
  const json = (schema: unknown) => ({ 'application/json': { schema } });
  const err = (description: string) => ({ description, content: json(ref('Error')) });
  const auth = {
    '401': { ...err('No, invalid, expired, revoked or sender-constrained access token (RFC 6750 §3.1 invalid_token)'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
    '403': { ...err('The token lacks scope latchkey:admin (insufficient_scope)'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
  };
  const bad = { '400': err('Invalid input; `field` names the offending field') };
  const notFound = { '404': err('No such resource (not_found)') };
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const op = (summary: string, responses: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    summary,
    security: [{ bearer: ['latchkey:admin'] }],
    ...extra,
    responses: { ...responses, ...auth },
  });
  const body = (schema: unknown, required = true) => ({ requestBody: { required, content: json(schema) } });
  const clientMeta = {
    type: 'object',
    additionalProperties: false,
    description: 'RFC 7591 client metadata names plus Latchkey extensions',
    properties: {
      client_id: { type: 'string', pattern: '^[A-Za-z0-9._:-]{3,128}$', description: 'create only; generated when omitted' },
      client_name: { type: 'string', maxLength: 200 },
      scope: { type: 'string', description: 'allowed scopes, space-separated' },
      default_scope: { type: ['string', 'null'] },
      audience: { type: 'array', items: { type: 'string', format: 'uri' }, maxItems: 50 },
      token_endpoint_auth_method: {
        type: 'string',
        enum: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'federated_jwt'],
        description: 'create only',
      },
      grant_types: { type: 'array', items: { const: 'client_credentials' } },
      jwks: { type: ['object', 'null'] },
      jwks_uri: { type: ['string', 'null'], format: 'uri' },
      access_token_ttl: { type: ['integer', 'null'], minimum: 1 },
      access_token_format: { type: 'string', enum: ['jwt', 'opaque'] },
      tls_client_auth_subject_dn: { type: 'string' },
      tls_client_auth_san_dns: { type: 'string' },
      tls_client_auth_san_uri: { type: 'string' },
      tls_client_auth_san_ip: { type: 'string' },
      tls_client_auth_san_email: { type: 'string' },
      dpop_bound_access_tokens: { type: 'boolean' },
      tls_client_certificate_bound_access_tokens: { type: 'boolean' },
      disabled: { type: 'boolean' },
      federated_identity: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['issuer', 'subject'],
        description: 'federated_jwt only (SPEC §9): the trusted issuer (by name), the exact sub of its tokens, and claims that must be equal',
        properties: {
          issuer: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          subject: { type: 'string', maxLength: 1024 },
          claims: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 20 },
        },
      },
    },
  };
  const trustedIssuerInput = {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    description: 'Keys come from jwks (a key file, a SPIFFE bundle) when given, else from jwks_uri, else from the issuer\'s OpenID Connect discovery document',
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
      issuer: { type: 'string', description: 'the exact iss of its tokens; for kind spiffe the trust domain spiffe://example.org; kind github defaults to https://token.actions.githubusercontent.com' },
      kind: { type: 'string', enum: ['oidc', 'kubernetes', 'spiffe', 'github'], default: 'oidc' },
      jwks_uri: { type: ['string', 'null'], format: 'uri' },
      jwks: { type: ['object', 'null'] },
      max_assertion_lifetime: { type: 'integer', minimum: 1, maximum: 86400, default: 3600, description: 'longest accepted exp − iat, seconds' },
      single_use: { type: 'boolean', default: false, description: 'a token jti, when present, is accepted once' },
    },
  };
  const { name: _name, ...updatable } = trustedIssuerInput.properties;
  const trustedIssuerUpdate = {
    type: 'object',
    additionalProperties: false,
    description: 'Omitted members keep their value. Giving jwks or jwks_uri replaces the key source (both null: discovery). issuer and kind may be repeated, not changed.',
    // No defaults here: an omitted member keeps its current value.
    properties: Object.fromEntries(Object.entries(updatable).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([p]) => p !== 'default'))])),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey admin API',
      version: '1',
      description:
        'Manage clients, signing keys, the audit log and RFC 7591 initial access tokens. Every operation needs a Bearer access token issued by this server (client credentials grant) with scope latchkey:admin and the issuer as audience.',
    },
    servers: [{ url: `${issuer}/admin/v1` }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RFC 9068)', description: `POST ${issuer}/oauth2/token with grant_type=client_credentials and scope=latchkey:admin` },
        oauth2: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: `${issuer}/oauth2/token`, scopes: { 'latchkey:admin': 'administer this server' } } } },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'error_description'],
          properties: {
            error: { type: 'string', enum: ['invalid_request', 'invalid_client_metadata', 'invalid_token', 'insufficient_scope', 'not_found', 'temporarily_unavailable', 'server_error'] },
            error_description: { type: 'string' },
            field: { type: 'string', description: 'the offending input field (validation errors only)' },
          },
        },
        ClientMetadata: clientMeta,
        Client: {
          type: 'object',
          required: ['client_id', 'client_name', 'scope', 'audience', 'token_endpoint_auth_method', 'grant_types', 'access_token_format', 'disabled'],
          properties: {
            ...clientMeta.properties,
            client_id_issued_at: { type: 'integer' },
            client_secret_expires_at: { type: 'integer', description: '0 = does not expire' },
            client_secrets_active: { type: 'integer' },
          },
        },
        ClientWithSecret: {
          allOf: [ref('Client'), { type: 'object', required: ['client_secret'], properties: { client_secret: { type: 'string', description: 'shown once' } } }],
        },
        Key: {
          type: 'object',
          properties: {
            kid: { type: 'string' },
            alg: { type: 'string' },
            state: { type: 'string', enum: ['next', 'current', 'retired'] },
            public_jwk: { type: 'object' },
            created_at: { type: 'string', format: 'date-time' },
            publish_at: { type: 'string', format: 'date-time' },
            activate_at: { type: 'string', format: 'date-time' },
            retired_at: { type: ['string', 'null'], format: 'date-time' },
            expires_at: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        AuditRecord: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            actor: { type: 'string' },
            action: { type: 'string' },
            target: { type: ['string', 'null'] },
            before: { type: ['object', 'null'] },
            after: { type: ['object', 'null'] },
          },
        },
        TrustedIssuer: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            issuer: { type: 'string' },
            kind: { type: 'string', enum: ['oidc', 'kubernetes', 'spiffe', 'github'] },
            keys_from: { type: 'string', enum: ['file', 'jwks_uri', 'discovery'] },
            jwks_uri: { type: ['string', 'null'] },
            jwks: { type: 'object' },
            max_assertion_lifetime: { type: 'integer' },
            single_use: { type: 'boolean' },
            created_at: { type: 'integer', description: 'epoch seconds' },
            federated_clients: { type: 'integer', description: 'GET /trusted-issuers/{name} only' },
          },
        },
        RegistrationToken: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'SHA-256 of the token (hex)' },
            scope: { type: ['string', 'null'], description: 'cap on the scopes a client registered with it may hold (null: legacy token)' },
            audience: { type: ['array', 'null'], items: { type: 'string', format: 'uri' }, description: 'cap on the audiences a client registered with it may name (null: legacy token)' },
            max_clients: { type: ['integer', 'null'], description: 'how many clients it may register' },
            clients_registered: { type: 'integer', description: 'how many it has registered' },
            created_at: { type: 'string', format: 'date-time' },
            expires_at: { type: ['string', 'null'], format: 'date-time' },
            created_by: { type: 'string' },
            expired: { type: 'boolean' },
            legacy: { type: 'boolean', description: 'created before caps were required: registers nothing' },
          },
        },
      },
    },
    paths: {
      '/clients': {
        get: op('List clients (paged, searchable)', { '200': { description: 'a page', content: json({ type: 'object', properties: { clients: { type: 'array', items: ref('Client') }, total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' } } }) }, ...bad }, {
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            { name: 'search', in: 'query', schema: { type: 'string' }, description: 'substring of client_id or client_name' },
          ],
        }),
        post: op('Create a client; the response holds its secret, shown once', { '201': { description: 'created', content: json(ref('ClientWithSecret')) }, ...bad }, body(ref('ClientMetadata'))),
      },
      '/clients/import': {
        post: op(
          'Import clients (migration): Latchkey (GET /clients/export), a Keycloak client / realm export, or Ory Hydra clients; keeps ids and given secrets (hashed, flagged secret_imported); clients that cannot be represented are skipped and reported',
          { '200': { description: 'what was imported (a generated secret once, where the document had none) and what was skipped, with reasons', content: json({ type: 'object', properties: { format: { type: 'string', enum: ['latchkey', 'keycloak', 'hydra'] }, dry_run: { type: 'boolean' }, imported: { type: 'array', items: { type: 'object' } }, skipped: { type: 'array', items: { type: 'object', properties: { client_id: { type: ['string', 'null'] }, reason: { type: 'string' } } } } } }) }, ...bad },
          {
            ...body({ type: ['object', 'array'] }),
            parameters: [
              { name: 'dry_run', in: 'query', schema: { type: 'string', enum: ['true', 'false'] }, description: 'check and report without writing' },
              { name: 'format', in: 'query', schema: { type: 'string', enum: ['latchkey', 'keycloak', 'hydra'] }, description: 'default: detected' },
            ],
          },
        ),
      },
      '/clients/export': {
        get: op('Export every client for POST /clients/import (no secrets, no hashes)', { '200': { description: 'the clients', content: json({ type: 'object', properties: { format: { type: 'string', const: 'latchkey-clients' }, version: { type: 'integer' }, exported_at: { type: 'string', format: 'date-time' }, clients: { type: 'array', items: ref('Client') } } }) } }),
      },
      '/clients/{id}': {
        parameters: [idParam],
        get: op('Read a client', { '200': { description: 'the client', content: json(ref('Client')) }, ...notFound }),
        patch: op('Change client metadata (only the fields sent)', { '200': { description: 'the updated client', content: json(ref('Client')) }, ...bad, ...notFound }, body(ref('ClientMetadata'))),
        delete: op('Delete a client', { '204': { description: 'deleted' }, ...bad, ...notFound }),
      },
      '/clients/{id}/disable': { parameters: [idParam], post: op('Disable a client (takes effect on every node within 1 s)', { '200': { description: 'the client', content: json(ref('Client')) }, ...bad, ...notFound }) },
      '/clients/{id}/enable': { parameters: [idParam], post: op('Enable a client', { '200': { description: 'the client', content: json(ref('Client')) }, ...notFound }) },
      '/clients/{id}/rotate-secret': {
        parameters: [idParam],
        post: op(
          'Issue a new secret; older secrets keep working for grace_seconds',
          { '200': { description: 'the client with its new secret (shown once)', content: json(ref('ClientWithSecret')) }, ...bad, ...notFound },
          body({ type: 'object', additionalProperties: false, properties: { grace_seconds: { type: 'integer', minimum: 0, default: 0 }, expires_in: { type: 'integer', minimum: 1 } } }, false),
        ),
      },
      '/keys': { get: op('List signing keys and their state', { '200': { description: 'keys', content: json({ type: 'object', properties: { keys: { type: 'array', items: ref('Key') } } }) } }) },
      '/keys/rotate': {
        post: op(
          'Publish a new signing key; it signs after the pre-publication interval',
          { '201': { description: 'the new key', content: json(ref('Key')) }, ...bad },
          body({ type: 'object', additionalProperties: false, properties: { alg: { type: 'string', enum: ['ES256', 'EdDSA', 'RS256', 'PS256'] }, prepublish_seconds: { type: 'integer', minimum: 0 } } }, false),
        ),
      },
      '/audit': {
        get: op('Query the audit log, newest first', { '200': { description: 'records', content: json({ type: 'object', properties: { records: { type: 'array', items: ref('AuditRecord') } } }) }, ...bad }, {
          parameters: [
            { name: 'since', in: 'query', schema: { type: 'string' }, description: 'ISO 8601 time or epoch milliseconds' },
            { name: 'client', in: 'query', schema: { type: 'string' }, description: 'only records about this client' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
        }),
      },
      '/registration-tokens': {
        get: op('List initial access tokens (never the tokens themselves)', { '200': { description: 'tokens', content: json({ type: 'object', properties: { registration_tokens: { type: 'array', items: ref('RegistrationToken') } } }) } }),
        post: op(
          'Create an initial access token for RFC 7591 registration; the token is shown once',
          { '201': { description: 'created', content: json({ allOf: [ref('RegistrationToken'), { type: 'object', required: ['token'], properties: { token: { type: 'string' } } }] }) }, ...bad },
          body(
            {
              type: 'object',
              additionalProperties: false,
              required: ['scope', 'audience'],
              properties: {
                scope: { type: 'string', description: 'scopes registered clients may hold (never latchkey:*)' },
                audience: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', format: 'uri' }, description: 'audiences registered clients may name' },
                max_clients: { type: 'integer', minimum: 1, maximum: 100000, default: 100 },
                ttl: { type: 'integer', minimum: 60, default: 86400 },
              },
            },
            true,
          ),
        ),
      },
      '/trusted-issuers': {
        get: op('List trusted issuers of federated clients (SPEC §9)', { '200': { description: 'issuers', content: json({ type: 'object', properties: { trusted_issuers: { type: 'array', items: ref('TrustedIssuer') } } }) } }),
        post: op('Trust an issuer (Kubernetes cluster, SPIFFE trust domain, GitHub Actions, any OIDC issuer); every node within 1 s', { '201': { description: 'created', content: json(ref('TrustedIssuer')) }, ...bad }, body(trustedIssuerInput)),
      },
      '/trusted-issuers/{id}': {
        parameters: [{ ...idParam, description: "the trusted issuer's name" }],
        get: op('Read a trusted issuer and how many clients it federates', { '200': { description: 'the issuer', content: json(ref('TrustedIssuer')) }, ...notFound }),
        patch: op(
          "Replace an issuer's keys (jwks or jwks_uri; both null = OIDC discovery) or rules in place, e.g. after a key rotation; issuer and kind cannot change; every node within 1 s",
          { '200': { description: 'updated', content: json(ref('TrustedIssuer')) }, ...bad, ...notFound },
          body(trustedIssuerUpdate),
        ),
        delete: op('Stop trusting an issuer: its clients are refused on every node within 1 s (they stay, and work again if it is trusted again)', { '204': { description: 'removed' }, ...notFound }),
      },
      '/registration-tokens/{id}': { parameters: [idParam], delete: op('Delete (revoke) an initial access token', { '204': { description: 'deleted' }, ...notFound }) },
    },
  };
}
