import { createHash, randomBytes } from 'node:crypto';
import { absoluteUri } from './client-metadata.js';
import { z } from 'zod';
import { OAuthError } from '../shared/errors.js';
import { isValidScopeToken, RESERVED_SCOPE_PREFIX } from '../shared/scope.js';
import type { Store } from '../store/store.js';
import type { RegistrationTokenRecord } from '../store/types.js';
import { describeZodError } from './client-metadata.js';

import { INITIAL_ACCESS_TOKEN_PREFIX, REGISTRATION_ACCESS_TOKEN_PREFIX } from '../shared/token-prefixes.js';
export { INITIAL_ACCESS_TOKEN_PREFIX, REGISTRATION_ACCESS_TOKEN_PREFIX };
export const DEFAULT_REGISTRATION_TOKEN_TTL = 86_400;
/** SPEC §7 quota when none is given: how many clients one initial access token may register. */
export const DEFAULT_MAX_CLIENTS = 100;
export const MAX_MAX_CLIENTS = 100_000;

/** SHA-256, hex (an id that never starts with '-', so CLI arguments stay unambiguous): how initial and registration access tokens are stored. */
export const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export const newOpaqueToken = (prefix: string) => prefix + randomBytes(32).toString('base64url');

/** Whether a stored initial access token predates mandatory caps (SPEC §7): it registers nothing. */
export const isLegacyRegistrationToken = (r: RegistrationTokenRecord): boolean => r.audience == null || r.scope == null || r.max_clients == null;

/** What a legacy initial access token's holder is told. */
export const LEGACY_IAT_MESSAGE =
  'this initial access token has no scope and audience caps (it predates them) and cannot register clients; ask the operator for a capped one: latchkey registration-tokens create --scope SCOPES --audience URL [--max-clients N]';

/** A stored initial access token as the admin API and CLI show it. The token itself is never shown again. */
export function publicRegistrationToken(r: RegistrationTokenRecord, now = Date.now()): Record<string, unknown> {
  return {
    id: r.token_hash,
    scope: r.scope,
    audience: r.audience ?? null,
    max_clients: r.max_clients ?? null,
    clients_registered: r.clients_registered ?? 0,
    created_at: new Date(r.created_at).toISOString(),
    expires_at: r.expires_at == null ? null : new Date(r.expires_at).toISOString(),
    created_by: r.created_by,
    expired: r.expires_at != null && r.expires_at <= now,
    legacy: isLegacyRegistrationToken(r),
  };
}


/**
 * The caps of a new initial access token (SPEC §7), shared by the admin API and the CLI: scopes and
 * audiences are required; `latchkey:*` scopes can never be granted by registration, so a cap naming
 * one is refused rather than silently ignored.
 */
export const registrationTokenInput = z
  .object({
    scope: z
      .string({ error: 'is required: the scopes clients registered with this token may hold' })
      .max(4096)
      .refine((s) => s.split(' ').filter(Boolean).length > 0, 'must name at least one scope')
      .refine((s) => s.split(' ').filter(Boolean).every(isValidScopeToken), 'must be space-separated scope tokens (RFC 6749 §3.3)')
      .refine((s) => !s.split(' ').some((x) => x.startsWith(RESERVED_SCOPE_PREFIX)), `${RESERVED_SCOPE_PREFIX}* scopes cannot be granted through registration`)
      .transform((s) => [...new Set(s.split(' ').filter(Boolean))].join(' ')),
    audience: z
      .array(absoluteUri, { error: 'is required: an array of the audiences (resource URIs) registered clients may name' })
      .min(1, 'must name at least one audience')
      .max(50)
      .transform((a) => [...new Set(a)]),
    max_clients: z.number().int().min(1).max(MAX_MAX_CLIENTS).optional(),
    ttl: z.number().int().min(60).max(31_536_000).optional(),
  })
  .strict();
export type RegistrationTokenInput = z.input<typeof registrationTokenInput>;

/**
 * Creates an initial access token for RFC 7591 registration. Returned once; only its SHA-256 is stored.
 * Its caps (SPEC §7): clients registered with it may hold only `scope` and name only `audience`, and at
 * most `max_clients` (default {@link DEFAULT_MAX_CLIENTS}) may be registered with it. Reusable until it
 * expires, is deleted or is used up. Bad input → 400 `invalid_request` naming the field.
 */
export async function createRegistrationToken(store: Pick<Store, 'insertRegistrationToken' | 'addAudit'>, input: unknown, actor: string): Promise<Record<string, unknown> & { token: string }> {
  const r = registrationTokenInput.safeParse(input ?? {});
  if (!r.success) {
    const d = describeZodError(r.error);
    const field = d.field === '(body)' ? 'body' : d.field;
    throw new OAuthError('invalid_request', `${field}: ${d.message}`, { field });
  }
  const o = r.data;
  const ttl = o.ttl ?? DEFAULT_REGISTRATION_TOKEN_TTL;
  const now = Date.now();
  const token = newOpaqueToken(INITIAL_ACCESS_TOKEN_PREFIX);
  const rec: RegistrationTokenRecord = {
    token_hash: tokenHash(token),
    scope: o.scope,
    audience: o.audience,
    max_clients: o.max_clients ?? DEFAULT_MAX_CLIENTS,
    clients_registered: 0,
    created_at: now,
    expires_at: now + ttl * 1000,
    created_by: actor,
  };
  await store.insertRegistrationToken(rec);
  await store.addAudit({
    at: now,
    actor,
    action: 'registration_token.create',
    target: null,
    before: null,
    after: { id: rec.token_hash, scope: rec.scope, audience: rec.audience ?? null, max_clients: rec.max_clients ?? null, expires_at: rec.expires_at },
  });
  return { token, ...publicRegistrationToken(rec, now) };
}

export async function deleteRegistrationToken(store: Pick<Store, 'deleteRegistrationToken' | 'addAudit'>, id: string, actor: string): Promise<void> {
  if (!(await store.deleteRegistrationToken(id))) throw new OAuthError('not_found', 'no such registration token');
  await store.addAudit({ at: Date.now(), actor, action: 'registration_token.delete', target: null, before: { id }, after: null });
}
