import { randomBytes } from 'node:crypto';
import { OAuthError } from '../shared/errors.js';
import { generateClientId, generateSecret, secretAad, secretRowAad, type SecretHasher } from '../client-auth/secret-hash.js';
import type { Config } from '../config.js';
import type { Sealer } from '../keys/seal.js';
import type { OutboundPolicy } from '../outbound/index.js';
import { DuplicateError, type Store } from '../store/store.js';
import type { ClientRecord, ClientSecretRecord, TokenEndpointAuthMethod } from '../store/types.js';
import { clientMetadataSchema, describeZodError, EXTRA_FIELDS, type ClientMetadata, type ClientMetadataInput } from './client-metadata.js';

const SECRET_METHODS: ReadonlySet<string> = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
export { secretAad, secretRowAad };

/** RFC 7591 §3.2.1 representation of a client. Never contains a secret hash or sealed value. */
export function publicClient(r: ClientRecord, secrets: ClientSecretRecord[] = []): Record<string, unknown> {
  const live = secrets.filter((s) => s.expires_at == null || s.expires_at > Date.now());
  const newest = live.length ? live.reduce((a, b) => (b.created_at > a.created_at ? b : a)) : undefined;
  const out: Record<string, unknown> = {
    client_id: r.client_id,
    client_name: r.client_name,
    client_id_issued_at: Math.floor(r.created_at / 1000),
    scope: r.scope,
    default_scope: r.default_scope,
    audience: r.audience,
    token_endpoint_auth_method: r.token_endpoint_auth_method,
    grant_types: r.grant_types,
    access_token_ttl: r.access_token_ttl,
    access_token_format: r.access_token_format,
    disabled: r.disabled,
  };
  if (r.jwks) out.jwks = r.jwks;
  if (r.jwks_uri) out.jwks_uri = r.jwks_uri;
  if (r.federated_identity) out.federated_identity = r.federated_identity;
  for (const [k, v] of Object.entries(r.extra)) out[k] = v;
  if (SECRET_METHODS.has(r.token_endpoint_auth_method)) {
    // RFC 7591: 0 means the secret does not expire.
    out.client_secret_expires_at = newest?.expires_at ? Math.floor(newest.expires_at / 1000) : 0;
    out.client_secrets_active = live.length;
  }
  return out;
}

/** SPEC §9: one (issuer, subject) maps to at most one client — the store's unique index says so. */
function duplicateIdentity(e: unknown): never {
  if (e instanceof DuplicateError && e.what !== 'client_id') throw new ValidationError('federated_identity', 'another client is already mapped to this issuer and subject');
  if (e instanceof DuplicateError) throw new ValidationError('client_id', 'already exists');
  throw e;
}

export class ValidationError extends OAuthError {
  declare readonly field: string;
  constructor(field: string, message: string) {
    super('invalid_client_metadata', `${field}: ${message}`, { field });
  }
}

/**
 * The one set of rules for client management, shared by the CLI, the admin API, the console and
 * RFC 7591/7592 registration. Every change writes an audit record (before/after, without secrets).
 */
/** What ClientService works with (a Runtime satisfies it). */
export interface ClientServiceDeps {
  readonly store: Store;
  readonly hasher: SecretHasher;
  readonly sealer: Sealer;
  readonly config: Pick<Config, 'maxAccessTokenTtl'>;
  /** SPEC §8: a jwks_uri must be a URL the outbound policy allows (checked on every path). */
  readonly outbound: { readonly policy: Pick<OutboundPolicy, 'urlProblem'> };
}

export class ClientService {
  constructor(private readonly s: ClientServiceDeps) {}

  parse(input: unknown): ClientMetadata {
    const r = clientMetadataSchema.safeParse(input);
    if (!r.success) {
      const { field, message } = describeZodError(r.error);
      throw new ValidationError(field, message);
    }
    return r.data;
  }

  private check(rec: ClientRecord): void {
    const allowed = new Set(rec.scope.split(' ').filter(Boolean));
    if (rec.default_scope) {
      for (const sc of rec.default_scope.split(' ')) if (!allowed.has(sc)) throw new ValidationError('default_scope', `"${sc}" is not in scope`);
    }
    const m = rec.token_endpoint_auth_method;
    if (rec.jwks && rec.jwks_uri) throw new ValidationError('jwks', 'jwks and jwks_uri must not both be present (RFC 7591 §2)');
    if ((m === 'private_key_jwt' || m === 'self_signed_tls_client_auth') && !rec.jwks && !rec.jwks_uri) {
      throw new ValidationError('jwks', `${m} needs jwks or jwks_uri`);
    }
    if (m === 'tls_client_auth') {
      const n = ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri', 'tls_client_auth_san_ip', 'tls_client_auth_san_email'].filter(
        (k) => rec.extra[k] !== undefined,
      ).length;
      if (n !== 1) throw new ValidationError('tls_client_auth_subject_dn', 'tls_client_auth needs exactly one subject DN or SAN value (RFC 8705 §2.1.2)');
    }
    if (rec.jwks_uri) {
      const why = this.s.outbound.policy.urlProblem(rec.jwks_uri);
      if (why !== undefined) throw new ValidationError('jwks_uri', why);
    }
    // SPEC §9: a federated client has federated_identity instead of a secret, jwks or jwks_uri.
    if (m === 'federated_jwt') {
      if (!rec.federated_identity) throw new ValidationError('federated_identity', 'federated_jwt needs federated_identity {issuer, subject}');
      if (rec.jwks || rec.jwks_uri) throw new ValidationError('federated_identity', 'federated clients have no jwks or jwks_uri');
    } else if (rec.federated_identity) {
      throw new ValidationError('federated_identity', 'only with token_endpoint_auth_method federated_jwt');
    }
    if (rec.access_token_ttl != null && rec.access_token_ttl > this.s.config.maxAccessTokenTtl) {
      throw new ValidationError('access_token_ttl', `must be at most ${this.s.config.maxAccessTokenTtl}`);
    }
  }

  /** SPEC §9: a federated client names an existing trusted issuer. */
  private async checkTrustedIssuer(rec: ClientRecord): Promise<void> {
    const f = rec.federated_identity;
    if (f && !(await this.s.store.getTrustedIssuer(f.issuer))) throw new ValidationError('federated_identity.issuer', `no trusted issuer named "${f.issuer}" (latchkey trust add)`);
  }

  /**
   * A new secret and its row. client_secret_jwt: the server needs the secret itself as the HMAC key, so
   * the row also keeps it sealed (row-bound AAD), one per secret, so that a rotation's grace period
   * covers these clients as it does client_secret_basic/post.
   */
  private newSecret(clientId: string, method: TokenEndpointAuthMethod, expiresAt: number | null, given?: string): { secret: string; record: ClientSecretRecord; legacySealed: string | undefined } {
    const secret = given ?? generateSecret();
    const id = randomBytes(9).toString('base64url');
    const jwt = method === 'client_secret_jwt';
    return {
      secret,
      record: {
        id,
        client_id: clientId,
        hash: this.s.hasher.hash(secret),
        created_at: Date.now(),
        expires_at: expiresAt,
        secret_sealed: jwt ? this.s.sealer.seal(secret, secretRowAad(clientId, id)) : null,
      },
      // `clients.secret_sealed` is still written (the newest secret, legacy AAD) although this release
      // reads it only as a fallback: nodes of the previous release that keep running during a rolling
      // upgrade read nothing else, so a client created or rotated on a new node must stay usable there
      // (and a rollback of the code keeps working). It holds no secret that a row does not hold too.
      legacySealed: jwt ? this.s.sealer.seal(secret, secretAad(clientId)) : undefined,
    };
  }

  /**
   * `secret`: use this secret instead of generating one (a preset bootstrap admin, an imported client);
   * it is hashed (and sealed for client_secret_jwt) like a generated one and never returned.
   * `secretImported` marks the client `secret_imported: true` (shown by show/export) until its secret is
   * rotated. `dryRun` runs every check and returns the client without writing anything.
   */
  async create(
    input: ClientMetadataInput,
    actor: string,
    opts: { secretExpiresIn?: number; secret?: string; secretImported?: boolean; dryRun?: boolean } = {},
  ): Promise<Record<string, unknown>> {
    const m = this.parse(input);
    const now = Date.now();
    const clientId = m.client_id ?? generateClientId();
    const method = (m.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
    const extra: Record<string, unknown> = {};
    for (const k of EXTRA_FIELDS) if (m[k] !== undefined) extra[k] = m[k];
    if (opts.secret !== undefined && !SECRET_METHODS.has(m.token_endpoint_auth_method ?? 'client_secret_basic')) {
      throw new ValidationError('client_secret', `${m.token_endpoint_auth_method ?? ''} clients have no secret`);
    }
    if (opts.secret !== undefined && opts.secretImported) extra.secret_imported = true;
    const rec: ClientRecord = {
      client_id: clientId,
      client_name: m.client_name ?? clientId,
      scope: m.scope ?? '',
      default_scope: m.default_scope ?? null,
      audience: m.audience ?? [],
      token_endpoint_auth_method: method,
      grant_types: m.grant_types ?? ['client_credentials'],
      jwks: (m.jwks as ClientRecord['jwks']) ?? null,
      jwks_uri: m.jwks_uri ?? null,
      access_token_ttl: m.access_token_ttl ?? null,
      access_token_format: m.access_token_format ?? 'jwt',
      extra,
      secret_sealed: null,
      disabled: m.disabled ?? false,
      created_at: now,
      updated_at: now,
      ...(m.federated_identity ? { federated_identity: m.federated_identity } : {}),
    };
    this.check(rec);
    await this.checkTrustedIssuer(rec);
    let secret: { secret: string; record: ClientSecretRecord } | undefined;
    if (SECRET_METHODS.has(method)) {
      const made = this.newSecret(clientId, method, opts.secretExpiresIn ? now + opts.secretExpiresIn * 1000 : null, opts.secret);
      secret = made;
      // client_secret_jwt: the server needs the secret itself as the HMAC key — kept sealed, not hashed only.
      if (made.legacySealed !== undefined) rec.secret_sealed = made.legacySealed;
    }
    if (await this.s.store.getClient(clientId)) throw new ValidationError('client_id', 'already exists');
    if (opts.dryRun) return publicClient(rec, secret ? [secret.record] : []);
    await this.s.store.insertClient(rec, secret?.record).catch(duplicateIdentity);
    const pub = publicClient(rec, secret ? [secret.record] : []);
    await this.audit(actor, 'client.create', clientId, null, pub);
    // A given secret is never handed back: its owner has it already.
    return secret && opts.secret === undefined ? { ...pub, client_secret: secret.secret } : pub;
  }

  async get(clientId: string): Promise<Record<string, unknown> | undefined> {
    const r = await this.s.store.getClient(clientId);
    return r ? publicClient(r, await this.s.store.listSecrets(clientId)) : undefined;
  }

  async list(q: { limit?: number; offset?: number; search?: string } = {}) {
    const { clients, total } = await this.s.store.listClients(q);
    return { clients: clients.map((c) => publicClient(c)), total };
  }

  private async require(clientId: string): Promise<ClientRecord> {
    const r = await this.s.store.getClient(clientId);
    if (!r) throw new OAuthError('not_found', 'no such client');
    return r;
  }

  async update(clientId: string, input: ClientMetadataInput, actor: string): Promise<Record<string, unknown>> {
    const m = this.parse(input);
    if (m.client_id !== undefined && m.client_id !== clientId) throw new ValidationError('client_id', 'cannot be changed');
    const before = await this.require(clientId);
    const next: ClientRecord = { ...before, extra: { ...before.extra } };
    for (const [k, v] of Object.entries(m)) {
      if (k === 'client_id') continue;
      if ((EXTRA_FIELDS as readonly string[]).includes(k)) next.extra[k] = v;
      else (next as unknown as Record<string, unknown>)[k] = v;
    }
    if (next.token_endpoint_auth_method !== before.token_endpoint_auth_method) {
      // Changing the method would leave the client without matching credentials: re-create it instead.
      throw new ValidationError('token_endpoint_auth_method', 'cannot be changed on an existing client');
    }
    this.check(next);
    if (JSON.stringify(next.federated_identity) !== JSON.stringify(before.federated_identity)) await this.checkTrustedIssuer(next);
    const { client_id: _id, created_at: _c, ...patch } = next;
    const after = await this.s.store.updateClient(clientId, { ...patch, updated_at: Date.now() }).catch(duplicateIdentity);
    if (!after) throw new OAuthError('not_found', 'no such client');
    const secrets = await this.s.store.listSecrets(clientId);
    const pub = publicClient(after, secrets);
    await this.audit(actor, 'client.update', clientId, publicClient(before, secrets), pub);
    return pub;
  }

  async setDisabled(clientId: string, disabled: boolean, actor: string): Promise<Record<string, unknown>> {
    const before = await this.require(clientId);
    const after = (await this.s.store.updateClient(clientId, { disabled, updated_at: Date.now() }))!;
    const secrets = await this.s.store.listSecrets(clientId);
    const pub = publicClient(after, secrets);
    await this.audit(actor, disabled ? 'client.disable' : 'client.enable', clientId, publicClient(before, secrets), pub);
    return pub;
  }

  async delete(clientId: string, actor: string): Promise<void> {
    const before = await this.require(clientId);
    await this.s.store.deleteClient(clientId);
    await this.audit(actor, 'client.delete', clientId, publicClient(before), null);
  }

  /**
   * New secret; every older secret keeps working for `graceSeconds` (0 = revoked at once), then fails.
   * `expiresIn` optionally gives the new secret an expiry of its own.
   */
  async rotateSecret(clientId: string, actor: string, opts: { graceSeconds?: number; expiresIn?: number } = {}): Promise<Record<string, unknown>> {
    const before = await this.require(clientId);
    if (!SECRET_METHODS.has(before.token_endpoint_auth_method)) {
      throw new ValidationError('token_endpoint_auth_method', `${before.token_endpoint_auth_method} clients have no secret`);
    }
    const now = Date.now();
    const grace = Math.max(0, opts.graceSeconds ?? 0);
    const { secret, record, legacySealed } = this.newSecret(clientId, before.token_endpoint_auth_method, opts.expiresIn ? now + opts.expiresIn * 1000 : null);
    await this.s.store.rotateSecret(clientId, record, now + grace * 1000, legacySealed);
    if (before.extra.secret_imported !== undefined) {
      // The imported secret is being replaced: the client no longer needs flagging.
      const { secret_imported: _flag, ...extra } = before.extra;
      await this.s.store.updateClient(clientId, { extra, updated_at: Date.now() });
    }
    const after = (await this.s.store.getClient(clientId))!;
    const pub = publicClient(after, await this.s.store.listSecrets(clientId));
    await this.audit(actor, 'client.rotate_secret', clientId, null, { grace_seconds: grace, old_secrets_expire_at: Math.floor((now + grace * 1000) / 1000) });
    return { ...pub, client_secret: secret, previous_secrets_expire_at: Math.floor((now + grace * 1000) / 1000) };
  }

  async audit(actor: string, action: string, target: string | null, before: Record<string, unknown> | null, after: Record<string, unknown> | null) {
    await this.s.store.addAudit({ at: Date.now(), actor, action, target, before, after });
  }
}
