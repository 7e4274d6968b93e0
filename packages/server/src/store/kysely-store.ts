import { Kysely, Migrator, sql, type Generated, type Transaction } from 'kysely';
import { StoreUnavailableError } from '../shared/errors.js';
import { migrations } from './migrations.js';
import type { AuditQuery, ListClientsQuery, Store } from './store.js';
import type {
  AuditRecord,
  ChangeEvent,
  ClientRecord,
  ClientRegistrationRecord,
  ClientSecretRecord,
  OpaqueTokenRecord,
  RegistrationTokenRecord,
  SigningKeyRecord,
  TrustedIssuerRecord,
} from './types.js';
import { DuplicateError } from './store.js';

/* Row shapes as the database holds them (JSON as text, booleans as 0/1). */
interface ClientRow {
  client_id: string;
  client_name: string;
  scope: string;
  default_scope: string | null;
  audience: string;
  token_endpoint_auth_method: string;
  grant_types: string;
  jwks: string | null;
  jwks_uri: string | null;
  access_token_ttl: number | null;
  access_token_format: string;
  extra: string;
  secret_sealed: string | null;
  disabled: number;
  created_at: number;
  updated_at: number;
  federated_issuer: string | null;
  federated_subject: string | null;
  federated_claims: string | null;
}
interface TrustedIssuerRow {
  name: string;
  issuer: string;
  kind: string;
  jwks_uri: string | null;
  jwks: string | null;
  max_assertion_lifetime: number;
  single_use: number;
  created_at: number;
  updated_at: number;
}
interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  private_sealed: string;
  created_at: number;
  publish_at: number;
  activate_at: number;
  retired_at: number | null;
  expires_at: number | null;
}
/** An `opaque_tokens` row (also read by the adapters' prepared lookups). */
export interface OpaqueRow {
  token_hash: string;
  jti: string;
  client_id: string;
  scope: string;
  aud: string;
  iat: number;
  exp: number;
  cnf: string | null;
  token_type: string;
}
interface RegistrationTokenRow {
  token_hash: string;
  scope: string | null;
  created_at: number;
  expires_at: number | null;
  created_by: string;
  audience: string | null;
  max_clients: number | null;
  clients_registered: number;
}
interface ClientRegistrationRow {
  client_id: string;
  token_hash: string;
  scope_cap: string | null;
  created_at: number;
  created_by: string;
  audience_cap: string | null;
  token_issued_at: number | null;
}
export interface Database {
  clients: ClientRow;
  client_secrets: ClientSecretRecord;
  signing_keys: KeyRow;
  changes: { seq: Generated<number>; kind: string; ref: string; at: number };
  audit: { id: Generated<number>; at: number; actor: string; action: string; target: string | null; before: string | null; after: string | null };
  opaque_tokens: OpaqueRow;
  revoked_jtis: { jti: string; client_id: string; exp: number; revoked_at: number };
  use_once: { key: string; exp: number };
  registration_tokens: RegistrationTokenRow;
  client_registrations: ClientRegistrationRow;
  trusted_issuers: TrustedIssuerRow;
}

const json = (v: unknown) => JSON.stringify(v);
const parse = <T>(v: string | null): T | null => (v == null ? null : (JSON.parse(v) as T));

function toClient(r: ClientRow): ClientRecord {
  return {
    client_id: r.client_id,
    client_name: r.client_name,
    scope: r.scope,
    default_scope: r.default_scope,
    audience: parse<string[]>(r.audience) ?? [],
    token_endpoint_auth_method: r.token_endpoint_auth_method as ClientRecord['token_endpoint_auth_method'],
    grant_types: parse<string[]>(r.grant_types) ?? [],
    jwks: parse(r.jwks),
    jwks_uri: r.jwks_uri,
    access_token_ttl: r.access_token_ttl == null ? null : Number(r.access_token_ttl),
    access_token_format: r.access_token_format as ClientRecord['access_token_format'],
    extra: parse<Record<string, unknown>>(r.extra) ?? {},
    secret_sealed: r.secret_sealed,
    disabled: Boolean(Number(r.disabled)),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    // Only federated clients carry the member, so other records read back exactly as written.
    ...(r.federated_issuer != null && r.federated_subject != null
      ? { federated_identity: { issuer: r.federated_issuer, subject: r.federated_subject, ...(r.federated_claims ? { claims: parse<Record<string, string>>(r.federated_claims)! } : {}) } }
      : {}),
  };
}
function toRegistrationToken(r: RegistrationTokenRow): RegistrationTokenRecord {
  return {
    token_hash: r.token_hash,
    scope: r.scope,
    created_at: Number(r.created_at),
    expires_at: r.expires_at == null ? null : Number(r.expires_at),
    created_by: r.created_by,
    audience: parse<string[]>(r.audience),
    max_clients: r.max_clients == null ? null : Number(r.max_clients),
    clients_registered: Number(r.clients_registered ?? 0),
  };
}
function toClientRegistration(r: ClientRegistrationRow): ClientRegistrationRecord {
  return {
    client_id: r.client_id,
    token_hash: r.token_hash,
    scope_cap: r.scope_cap,
    created_at: Number(r.created_at),
    created_by: r.created_by,
    audience_cap: parse<string[]>(r.audience_cap),
    token_issued_at: r.token_issued_at == null ? Number(r.created_at) : Number(r.token_issued_at),
  };
}
function toTrustedIssuer(r: TrustedIssuerRow): TrustedIssuerRecord {
  return {
    name: r.name,
    issuer: r.issuer,
    kind: r.kind as TrustedIssuerRecord['kind'],
    jwks_uri: r.jwks_uri,
    jwks: parse(r.jwks),
    max_assertion_lifetime: Number(r.max_assertion_lifetime),
    single_use: Boolean(Number(r.single_use)),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
  };
}
/** SQLite (SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY) and PostgreSQL (23505) unique violations. */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
function fromClient(c: Partial<ClientRecord>): Partial<ClientRow> {
  const r: Partial<ClientRow> = {};
  for (const [k, v] of Object.entries(c)) {
    switch (k) {
      case 'audience':
      case 'grant_types':
      case 'extra':
        (r as Record<string, unknown>)[k] = json(v);
        break;
      case 'jwks':
        r.jwks = v == null ? null : json(v);
        break;
      case 'disabled':
        r.disabled = v ? 1 : 0;
        break;
      case 'federated_identity': {
        const f = v as ClientRecord['federated_identity'];
        r.federated_issuer = f?.issuer ?? null;
        r.federated_subject = f?.subject ?? null;
        r.federated_claims = f?.claims && Object.keys(f.claims).length > 0 ? json(f.claims) : null;
        break;
      }
      default:
        (r as Record<string, unknown>)[k] = v;
    }
  }
  return r;
}
function toKey(r: KeyRow): SigningKeyRecord {
  return {
    kid: r.kid,
    alg: r.alg as SigningKeyRecord['alg'],
    public_jwk: JSON.parse(r.public_jwk) as SigningKeyRecord['public_jwk'],
    private_sealed: r.private_sealed,
    created_at: Number(r.created_at),
    publish_at: Number(r.publish_at),
    activate_at: Number(r.activate_at),
    retired_at: r.retired_at == null ? null : Number(r.retired_at),
    expires_at: r.expires_at == null ? null : Number(r.expires_at),
  };
}
/** The columns of an `opaque_tokens` row in the record's order: for the adapters' hand-written lookups. */
export const OPAQUE_COLUMNS = 'token_hash, jti, client_id, scope, aud, iat, exp, cnf, token_type';
export function toOpaqueToken(r: OpaqueRow): OpaqueTokenRecord {
  return {
    token_hash: r.token_hash,
    jti: r.jti,
    client_id: r.client_id,
    scope: r.scope,
    aud: JSON.parse(r.aud) as string[],
    iat: Number(r.iat),
    exp: Number(r.exp),
    cnf: parse(r.cnf),
    token_type: r.token_type,
  };
}
function toSecret(r: ClientSecretRecord): ClientSecretRecord {
  return { ...r, created_at: Number(r.created_at), expires_at: r.expires_at == null ? null : Number(r.expires_at), secret_sealed: r.secret_sealed ?? null };
}

/** Shared kysely implementation; the dialect adapters only build the Kysely instance and classify errors. */
export abstract class KyselyStore implements Store {
  abstract readonly dialect: 'sqlite' | 'postgres';
  protected abstract readonly db: Kysely<Database>;
  /** True when the error means "database unreachable / unusable right now" (→ 503), not a bug. */
  protected abstract isUnavailable(e: unknown): boolean;

  protected async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw e;
      if (this.isUnavailable(e)) throw new StoreUnavailableError(e);
      throw e;
    }
  }

  protected async change(trx: Transaction<Database> | Kysely<Database>, kind: ChangeEvent['kind'], ref: string): Promise<void> {
    await trx.insertInto('changes').values({ kind, ref, at: Date.now() }).execute();
  }

  /**
   * Clean-up of expired rows in small transactions, yielding to the event loop between them: one
   * DELETE of tens of thousands of rows would hold SQLite's (synchronous) connection — and with it
   * every request on this node — for hundreds of milliseconds. 100 rows per batch: the soak's 12,000
   * expired single-use rows a minute in batches of 500 still showed as 30–65 ms event-loop stalls once a
   * minute; a batch of 100 takes ~2 ms (docs/reliability.md).
   */
  protected async deleteInBatches(table: 'client_secrets' | 'changes' | 'opaque_tokens' | 'revoked_jtis' | 'use_once', key: string, column: string, below: number, batch = 100): Promise<number> {
    // The table and columns are chosen at run time from a fixed list: kysely cannot type that query.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = this.db as unknown as Kysely<any>;
    let total = 0;
    for (;;) {
      const res = await db
        .deleteFrom(table)
        .where(key, 'in', db.selectFrom(table).select(key).where(column, '<', below).limit(batch))
        .executeTakeFirst();
      const n = Number(res.numDeletedRows);
      total += n;
      if (n < batch) return total;
      await new Promise((r) => setImmediate(r));
    }
  }

  async migrate(): Promise<void> {
    await this.run(async () => {
      const migrator = new Migrator({ db: this.db, provider: migrations(this.dialect) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
      void results;
    });
  }

  async ping(): Promise<void> {
    await this.run(async () => {
      await sql`select 1`.execute(this.db);
    });
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  insertClient(client: ClientRecord, secret?: ClientSecretRecord): Promise<void> {
    return this.run(() =>
      this.db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('clients').values(fromClient(client) as ClientRow).execute();
          if (secret) await trx.insertInto('client_secrets').values(secret).execute();
          await this.change(trx, 'client', client.client_id);
        })
        .catch((e: unknown) => {
          if (isUniqueViolation(e)) throw new DuplicateError(client.federated_identity ? 'client_id or federated_identity' : 'client_id');
          throw e;
        }),
    );
  }

  getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.run(async () => {
      const r = await this.db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return r ? toClient(r) : undefined;
    });
  }

  listClients(q: ListClientsQuery = {}): Promise<{ clients: ClientRecord[]; total: number }> {
    return this.run(async () => {
      let base = this.db.selectFrom('clients');
      if (q.search) {
        const like = `%${q.search.replace(/[\\%_]/g, (m) => '\\' + m)}%`;
        base = base.where((eb) =>
          eb.or([sql<boolean>`client_id like ${like} escape '\\'`, sql<boolean>`client_name like ${like} escape '\\'`]),
        );
      }
      const rows = await base
        .selectAll()
        .orderBy('created_at')
        .orderBy('client_id')
        .limit(Math.min(q.limit ?? 100, 1000))
        .offset(q.offset ?? 0)
        .execute();
      const count = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      return { clients: rows.map(toClient), total: Number(count?.n ?? 0) };
    });
  }

  allClients(): Promise<ClientRecord[]> {
    return this.run(async () => (await this.db.selectFrom('clients').selectAll().execute()).map(toClient));
  }

  updateClient(clientId: string, patch: Partial<Omit<ClientRecord, 'client_id' | 'created_at'>>): Promise<ClientRecord | undefined> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        const row = fromClient({ ...patch, updated_at: patch.updated_at ?? Date.now() });
        const res = await trx
          .updateTable('clients')
          .set(row)
          .where('client_id', '=', clientId)
          .executeTakeFirst()
          .catch((e: unknown) => {
            if (isUniqueViolation(e)) throw new DuplicateError('federated_identity');
            throw e;
          });
        if (Number(res.numUpdatedRows) === 0) return undefined;
        await this.change(trx, 'client', clientId);
        const r = await trx.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirstOrThrow();
        return toClient(r);
      }),
    );
  }

  deleteClient(clientId: string): Promise<boolean> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('client_secrets').where('client_id', '=', clientId).execute();
        const res = await trx.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst();
        await this.change(trx, 'client', clientId);
        return Number(res.numDeletedRows) > 0;
      }),
    );
  }

  listSecrets(clientId: string): Promise<ClientSecretRecord[]> {
    return this.run(async () =>
      (await this.db.selectFrom('client_secrets').selectAll().where('client_id', '=', clientId).orderBy('created_at').execute()).map(toSecret),
    );
  }

  allSecrets(): Promise<ClientSecretRecord[]> {
    return this.run(async () => (await this.db.selectFrom('client_secrets').selectAll().execute()).map(toSecret));
  }

  rotateSecret(clientId: string, secret: ClientSecretRecord, oldExpiresAt: number, secretSealed?: string | null): Promise<void> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('client_secrets')
          .set({ expires_at: oldExpiresAt })
          .where('client_id', '=', clientId)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', oldExpiresAt)]))
          .execute();
        await trx.insertInto('client_secrets').values(secret).execute();
        const upd: Partial<ClientRow> = { updated_at: Date.now() };
        if (secretSealed !== undefined) upd.secret_sealed = secretSealed;
        await trx.updateTable('clients').set(upd).where('client_id', '=', clientId).execute();
        await this.change(trx, 'client', clientId);
      }),
    );
  }

  deleteExpiredSecrets(now: number): Promise<number> {
    return this.run(async () => {
      return this.deleteInBatches('client_secrets', 'id', 'expires_at', now);
    });
  }

  listKeys(): Promise<SigningKeyRecord[]> {
    return this.run(async () => (await this.db.selectFrom('signing_keys').selectAll().orderBy('activate_at').execute()).map(toKey));
  }

  insertKey(key: SigningKeyRecord): Promise<void> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('signing_keys')
          .values({ ...key, public_jwk: json(key.public_jwk) })
          .execute();
        await this.change(trx, 'key', key.kid);
      }),
    );
  }

  updateKey(kid: string, patch: Partial<Omit<SigningKeyRecord, 'kid'>>): Promise<void> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        const row = { ...patch } as Partial<KeyRow>;
        if (patch.public_jwk) row.public_jwk = json(patch.public_jwk);
        await trx.updateTable('signing_keys').set(row).where('kid', '=', kid).execute();
        await this.change(trx, 'key', kid);
      }),
    );
  }

  deleteKey(kid: string): Promise<void> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('signing_keys').where('kid', '=', kid).execute();
        await this.change(trx, 'key', kid);
      }),
    );
  }

  latestChangeSeq(): Promise<number> {
    return this.run(async () => {
      const r = await this.db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
      return Number(r?.m ?? 0);
    });
  }

  changesSince(seq: number, limit = 1000): Promise<ChangeEvent[]> {
    return this.run(async () =>
      (await this.db.selectFrom('changes').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute()).map((r) => ({
        seq: Number(r.seq),
        kind: r.kind as ChangeEvent['kind'],
        ref: r.ref,
        at: Number(r.at),
      })),
    );
  }

  recordChange(kind: ChangeEvent['kind'], ref: string): Promise<void> {
    return this.run(() => this.change(this.db, kind, ref));
  }

  pruneChanges(olderThan: number): Promise<number> {
    return this.run(() => this.deleteInBatches('changes', 'seq', 'at', olderThan));
  }

  addAudit(rec: AuditRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('audit')
        .values({
          at: rec.at,
          actor: rec.actor,
          action: rec.action,
          target: rec.target,
          before: rec.before ? json(rec.before) : null,
          after: rec.after ? json(rec.after) : null,
        })
        .execute();
    });
  }

  queryAudit(q: AuditQuery = {}): Promise<AuditRecord[]> {
    return this.run(async () => {
      let s = this.db.selectFrom('audit').selectAll();
      if (q.since !== undefined) s = s.where('at', '>=', q.since);
      if (q.target !== undefined) s = s.where('target', '=', q.target);
      const rows = await s.orderBy('id', 'desc').limit(Math.min(q.limit ?? 100, 1000)).execute();
      return rows.map((r) => ({
        id: Number(r.id),
        at: Number(r.at),
        actor: r.actor,
        action: r.action,
        target: r.target,
        before: parse(r.before),
        after: parse(r.after),
      }));
    });
  }

  insertOpaqueTokens(tokens: OpaqueTokenRecord[]): Promise<void> {
    if (tokens.length === 0) return Promise.resolve();
    return this.run(async () => {
      await this.db
        .insertInto('opaque_tokens')
        .values(tokens.map((t) => ({ ...t, aud: json(t.aud), cnf: t.cnf ? json(t.cnf) : null })))
        .execute();
    });
  }

  getOpaqueToken(tokenHash: string): Promise<OpaqueTokenRecord | undefined> {
    return this.run(async () => {
      const r = await this.db.selectFrom('opaque_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return r ? toOpaqueToken(r) : undefined;
    });
  }

  /**
   * Deletes the token and, when there was one, writes an `opaque_revocation` change keyed by its hash in the same
   * transaction: every node's opaque-token cache (tokens/opaque-cache.ts) drops its copy on the next poll.
   */
  deleteOpaqueToken(tokenHash: string): Promise<boolean> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        const res = await trx.deleteFrom('opaque_tokens').where('token_hash', '=', tokenHash).executeTakeFirst();
        const deleted = Number(res.numDeletedRows) > 0;
        if (deleted) await this.change(trx, 'opaque_revocation', tokenHash);
        return deleted;
      }),
    );
  }

  deleteExpiredOpaqueTokens(nowSeconds: number): Promise<number> {
    return this.run(() => this.deleteInBatches('opaque_tokens', 'token_hash', 'exp', nowSeconds));
  }

  revokeJti(jti: string, clientId: string, exp: number): Promise<void> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('revoked_jtis')
          .values({ jti, client_id: clientId, exp, revoked_at: Date.now() })
          .onConflict((oc) => oc.column('jti').doNothing())
          .execute();
        await this.change(trx, 'revocation', jti);
      }),
    );
  }

  isJtiRevoked(jti: string): Promise<boolean> {
    return this.run(async () => !!(await this.db.selectFrom('revoked_jtis').select('jti').where('jti', '=', jti).executeTakeFirst()));
  }

  revokedJtisSince(afterSeconds: number): Promise<{ jti: string; exp: number }[]> {
    return this.run(async () =>
      (await this.db.selectFrom('revoked_jtis').select(['jti', 'exp']).where('exp', '>', afterSeconds).execute()).map((r) => ({
        jti: r.jti,
        exp: Number(r.exp),
      })),
    );
  }

  deleteExpiredRevocations(nowSeconds: number): Promise<number> {
    return this.run(() => this.deleteInBatches('revoked_jtis', 'jti', 'exp', nowSeconds));
  }

  useOnce(key: string, exp: number): Promise<boolean> {
    return this.run(async () => {
      const now = Math.floor(Date.now() / 1000);
      // An expired entry may be reused; a live one may not (ON CONFLICT … WHERE keeps the check atomic).
      const res = await this.db
        .insertInto('use_once')
        .values({ key, exp })
        .onConflict((oc) => oc.column('key').doUpdateSet({ exp }).where('use_once.exp', '<', now))
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    });
  }

  useOnceMany(entries: { key: string; exp: number }[]): Promise<Set<string>> {
    if (entries.length === 0) return Promise.resolve(new Set());
    return this.run(async () => {
      const now = Math.floor(Date.now() / 1000);
      const rows = await this.db
        .insertInto('use_once')
        .values(entries)
        .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ exp: eb.ref('excluded.exp') })).where('use_once.exp', '<', now))
        .returning('key')
        .execute();
      return new Set(rows.map((r) => r.key));
    });
  }

  deleteExpiredUseOnce(nowSeconds: number): Promise<number> {
    return this.run(() => this.deleteInBatches('use_once', 'key', 'exp', nowSeconds));
  }

  insertRegistrationToken(rec: RegistrationTokenRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('registration_tokens')
        .values({
          token_hash: rec.token_hash,
          scope: rec.scope,
          created_at: rec.created_at,
          expires_at: rec.expires_at,
          created_by: rec.created_by,
          audience: rec.audience == null ? null : json(rec.audience),
          max_clients: rec.max_clients ?? null,
          clients_registered: rec.clients_registered ?? 0,
        })
        .execute();
    });
  }

  getRegistrationToken(tokenHash: string): Promise<RegistrationTokenRecord | undefined> {
    return this.run(async () => {
      const r = await this.db.selectFrom('registration_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return r ? toRegistrationToken(r) : undefined;
    });
  }

  deleteRegistrationToken(tokenHash: string): Promise<boolean> {
    return this.run(async () => Number((await this.db.deleteFrom('registration_tokens').where('token_hash', '=', tokenHash).executeTakeFirst()).numDeletedRows) > 0);
  }

  listRegistrationTokens(): Promise<RegistrationTokenRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('registration_tokens').selectAll().orderBy('created_at', 'desc').limit(1000).execute();
      return rows.map(toRegistrationToken);
    });
  }

  reserveRegistration(tokenHash: string, now: number): Promise<boolean> {
    return this.run(async () => {
      // One conditional UPDATE: the row lock (PostgreSQL) / the write lock (SQLite) serialises
      // concurrent reservations, and each re-evaluates the WHERE on the current count.
      const res = await this.db
        .updateTable('registration_tokens')
        .set((eb) => ({ clients_registered: eb('clients_registered', '+', 1) }))
        .where('token_hash', '=', tokenHash)
        .where('max_clients', 'is not', null)
        .where((eb) => eb('clients_registered', '<', eb.ref('max_clients')))
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    });
  }

  releaseRegistration(tokenHash: string): Promise<void> {
    return this.run(async () => {
      await this.db
        .updateTable('registration_tokens')
        .set((eb) => ({ clients_registered: eb('clients_registered', '-', 1) }))
        .where('token_hash', '=', tokenHash)
        .where('clients_registered', '>', 0)
        .execute();
    });
  }

  insertClientRegistration(rec: ClientRegistrationRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('client_registrations')
        .values({
          client_id: rec.client_id,
          token_hash: rec.token_hash,
          scope_cap: rec.scope_cap,
          created_at: rec.created_at,
          created_by: rec.created_by,
          audience_cap: rec.audience_cap == null ? null : json(rec.audience_cap),
          token_issued_at: rec.token_issued_at ?? rec.created_at,
        })
        .execute();
    });
  }

  getClientRegistration(clientId: string): Promise<ClientRegistrationRecord | undefined> {
    return this.run(async () => {
      const r = await this.db.selectFrom('client_registrations').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return r ? toClientRegistration(r) : undefined;
    });
  }

  rotateRegistrationAccessToken(clientId: string, oldHash: string, newHash: string, issuedAt: number): Promise<boolean> {
    return this.run(async () => {
      const res = await this.db
        .updateTable('client_registrations')
        .set({ token_hash: newHash, token_issued_at: issuedAt })
        .where('client_id', '=', clientId)
        .where('token_hash', '=', oldHash)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    });
  }

  insertTrustedIssuer(rec: TrustedIssuerRecord): Promise<void> {
    return this.run(() =>
      this.db
        .transaction()
        .execute(async (trx) => {
          await trx
            .insertInto('trusted_issuers')
            .values({
              name: rec.name,
              issuer: rec.issuer,
              kind: rec.kind,
              jwks_uri: rec.jwks_uri,
              jwks: rec.jwks == null ? null : json(rec.jwks),
              max_assertion_lifetime: rec.max_assertion_lifetime,
              single_use: rec.single_use ? 1 : 0,
              created_at: rec.created_at,
              updated_at: rec.updated_at,
            })
            .execute();
          await this.change(trx, 'trusted_issuer', rec.name);
        })
        .catch((e: unknown) => {
          if (isUniqueViolation(e)) throw new DuplicateError('trusted issuer name or issuer');
          throw e;
        }),
    );
  }

  getTrustedIssuer(name: string): Promise<TrustedIssuerRecord | undefined> {
    return this.run(async () => {
      const r = await this.db.selectFrom('trusted_issuers').selectAll().where('name', '=', name).executeTakeFirst();
      return r ? toTrustedIssuer(r) : undefined;
    });
  }

  listTrustedIssuers(): Promise<TrustedIssuerRecord[]> {
    return this.run(async () => (await this.db.selectFrom('trusted_issuers').selectAll().orderBy('name').execute()).map(toTrustedIssuer));
  }

  updateTrustedIssuer(rec: TrustedIssuerRecord): Promise<boolean> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        // name, issuer, kind and created_at identify the issuer and never change; the keys and the rules may.
        const res = await trx
          .updateTable('trusted_issuers')
          .set({
            jwks_uri: rec.jwks_uri,
            jwks: rec.jwks == null ? null : json(rec.jwks),
            max_assertion_lifetime: rec.max_assertion_lifetime,
            single_use: rec.single_use ? 1 : 0,
            updated_at: rec.updated_at,
          })
          .where('name', '=', rec.name)
          .executeTakeFirst();
        const found = Number(res.numUpdatedRows) > 0;
        if (found) await this.change(trx, 'trusted_issuer', rec.name);
        return found;
      }),
    );
  }

  deleteTrustedIssuer(name: string): Promise<boolean> {
    return this.run(() =>
      this.db.transaction().execute(async (trx) => {
        const res = await trx.deleteFrom('trusted_issuers').where('name', '=', name).executeTakeFirst();
        await this.change(trx, 'trusted_issuer', name);
        return Number(res.numDeletedRows) > 0;
      }),
    );
  }

  countFederatedClients(issuerName: string): Promise<number> {
    return this.run(async () => {
      const r = await this.db
        .selectFrom('clients')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('federated_issuer', '=', issuerName)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    });
  }
}
