import { hasPrivateMembers, JoseError, validatePublicJwk } from '@latchkey/jose-core';
import { z } from 'zod';
import { AUTH_METHODS } from '../store/types.js';
import { isValidScopeToken } from '../shared/scope.js';
import { federatedIdentitySchema } from './federated-identity.js';

const scopeString = z
  .string()
  .max(4096)
  .refine((s) => s.split(' ').filter(Boolean).every(isValidScopeToken), 'must be space-separated scope tokens (RFC 6749 §3.3)')
  .transform((s) => [...new Set(s.split(' ').filter(Boolean))].join(' '));

/** An absolute URI without a fragment (RFC 8707 §2): audiences, resource indicators, caps. */
export const absoluteUri = z
  .string()
  .max(2048)
  .refine((s) => {
    if (s.includes('#')) return false;
    try {
      new URL(s);
      return true;
    } catch {
      return false;
    }
  }, 'must be an absolute URI without a fragment (RFC 8707 §2)');

/**
 * SPEC §8 key rules through `@latchkey/jose-core`'s one JWK validation (the same the token endpoint
 * applies): no private members (d, p, q, dp, dq, qi, oth, k — checked first, for the whole set), then
 * per key: known kty only, RSA 2048–8192 bits with e = 65537, EC P-256/P-384/P-521 with the point on
 * the curve, OKP Ed25519 (not Ed448), only the members RFC 7517/7518 define for the key type, `alg`
 * fitting the key. The failing check names the key (`jwks.keys.N`).
 */
const jwk = z.record(z.string(), z.unknown());
// SPEC §7: at most 10 keys per client (and their members bounded by the key type, below).
export const MAX_CLIENT_JWKS = 10;
const jwks = z.object({ keys: z.array(jwk).min(1).max(MAX_CLIENT_JWKS) }).superRefine((s, ctx) => {
  if (s.keys.some(hasPrivateMembers)) {
    ctx.addIssue({ code: 'custom', message: 'jwks must hold public keys only' });
    return;
  }
  s.keys.forEach((k, i) => {
    try {
      validatePublicJwk(k, 'registration');
    } catch (e) {
      if (!(e instanceof JoseError)) throw e;
      ctx.addIssue({ code: 'custom', path: ['keys', i], message: e.message });
    }
  });
});

/** 3–128 of [A-Za-z0-9._:-], never starting with "-" (it would read as a command-line option). */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:][A-Za-z0-9._:-]{2,127}$/;

/**
 * Client metadata accepted by the CLI, the admin API and (restricted further) RFC 7591 registration.
 * Names follow RFC 7591 plus Latchkey's audience/default_scope/access_token_ttl/access_token_format.
 */
export const clientMetadataSchema = z
  .object({
    client_id: z.string().regex(CLIENT_ID_PATTERN, 'must match [A-Za-z0-9._:-]{3,128} and not start with "-"').optional(),
    client_name: z.string().min(1).max(200).optional(),
    scope: scopeString.optional(),
    default_scope: scopeString.nullable().optional(),
    audience: z.array(absoluteUri).max(50).optional(),
    token_endpoint_auth_method: z.enum(AUTH_METHODS as [string, ...string[]]).optional(),
    grant_types: z.array(z.enum(['client_credentials'])).max(1).optional(),
    jwks: jwks.nullable().optional(),
    jwks_uri: z.string().url().max(2048).nullable().optional(),
    access_token_ttl: z.number().int().min(1).max(31_536_000).nullable().optional(),
    access_token_format: z.enum(['jwt', 'opaque']).optional(),
    tls_client_auth_subject_dn: z.string().max(1024).optional(),
    tls_client_auth_san_dns: z.string().max(253).optional(),
    tls_client_auth_san_uri: z.string().max(2048).optional(),
    tls_client_auth_san_ip: z.string().max(64).optional(),
    tls_client_auth_san_email: z.string().max(254).optional(),
    dpop_bound_access_tokens: z.boolean().optional(),
    tls_client_certificate_bound_access_tokens: z.boolean().optional(),
    disabled: z.boolean().optional(),
    federated_identity: federatedIdentitySchema.nullable().optional(),
  })
  .strict();

export type ClientMetadataInput = z.input<typeof clientMetadataSchema>;
export type ClientMetadata = z.output<typeof clientMetadataSchema>;

export const EXTRA_FIELDS = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
  'dpop_bound_access_tokens',
  'tls_client_certificate_bound_access_tokens',
] as const;

/** A zod failure as "field: message" naming the exact path. */
export function describeZodError(e: z.ZodError): { field: string; message: string } {
  const i = e.issues[0]!;
  return { field: i.path.join('.') || '(body)', message: i.message };
}
