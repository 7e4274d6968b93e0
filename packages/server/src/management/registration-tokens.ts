import { createHash, randomBytes } from 'node:crypto';
import { OAuthError } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import type { RegistrationTokenRecord } from '../store/types.js';

import { INITIAL_ACCESS_TOKEN_PREFIX, REGISTRATION_ACCESS_TOKEN_PREFIX } from '../shared/token-prefixes.js';
export { INITIAL_ACCESS_TOKEN_PREFIX, REGISTRATION_ACCESS_TOKEN_PREFIX };
export const DEFAULT_REGISTRATION_TOKEN_TTL = 86_400;

/** SHA-256, hex (an id that never starts with '-', so CLI arguments stay unambiguous): how initial and registration access tokens are stored. */
export const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export const newOpaqueToken = (prefix: string) => prefix + randomBytes(32).toString('base64url');

/** A stored initial access token as the admin API and CLI show it. The token itself is never shown again. */
export function publicRegistrationToken(r: RegistrationTokenRecord, now = Date.now()): Record<string, unknown> {
  return {
    id: r.token_hash,
    scope: r.scope,
    created_at: new Date(r.created_at).toISOString(),
    expires_at: r.expires_at == null ? null : new Date(r.expires_at).toISOString(),
    created_by: r.created_by,
    expired: r.expires_at != null && r.expires_at <= now,
  };
}

/**
 * Creates an initial access token for RFC 7591 registration. Returned once; only its SHA-256 is stored.
 * `scope` caps what a client registered with it may be allowed (null = any scope except `latchkey:*`).
 * The token is reusable until it expires or is deleted (docs/admin-api.md).
 */
export async function createRegistrationToken(
  store: Pick<Store, 'insertRegistrationToken' | 'addAudit'>,
  opts: { scope?: string | null | undefined; ttlSeconds?: number | undefined },
  actor: string,
): Promise<Record<string, unknown> & { token: string }> {
  const ttl = opts.ttlSeconds ?? DEFAULT_REGISTRATION_TOKEN_TTL;
  const now = Date.now();
  const token = newOpaqueToken(INITIAL_ACCESS_TOKEN_PREFIX);
  const rec: RegistrationTokenRecord = {
    token_hash: tokenHash(token),
    scope: opts.scope ? opts.scope : null,
    created_at: now,
    expires_at: now + ttl * 1000,
    created_by: actor,
  };
  await store.insertRegistrationToken(rec);
  await store.addAudit({ at: now, actor, action: 'registration_token.create', target: null, before: null, after: { id: rec.token_hash, scope: rec.scope, expires_at: rec.expires_at } });
  return { token, ...publicRegistrationToken(rec, now) };
}

export async function deleteRegistrationToken(store: Pick<Store, 'deleteRegistrationToken' | 'addAudit'>, id: string, actor: string): Promise<void> {
  if (!(await store.deleteRegistrationToken(id))) throw new OAuthError('not_found', 'no such registration token');
  await store.addAudit({ at: Date.now(), actor, action: 'registration_token.delete', target: null, before: { id }, after: null });
}
