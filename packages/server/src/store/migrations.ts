import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** A migration sees the schema as it was at its own point in history, not today's `Database`: any table, columns not typed. */
type MigrationDb = Record<string, Record<string, unknown>>;

/**
 * One set of migrations for every dialect. Times are epoch ms (`*_at`) or epoch seconds (`exp`, `iat`);
 * JSON values are stored as text so both dialects read them the same way.
 */
export function migrations(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  const all: Record<string, Migration> = {
    '0001_initial': {
      async up(db: Kysely<MigrationDb>) {
        await db.schema
          .createTable('clients')
          .addColumn('client_id', 'text', (c) => c.primaryKey())
          .addColumn('client_name', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('default_scope', 'text')
          .addColumn('audience', 'text', (c) => c.notNull())
          .addColumn('token_endpoint_auth_method', 'text', (c) => c.notNull())
          .addColumn('grant_types', 'text', (c) => c.notNull())
          .addColumn('jwks', 'text')
          .addColumn('jwks_uri', 'text')
          .addColumn('access_token_ttl', 'integer')
          .addColumn('access_token_format', 'text', (c) => c.notNull())
          .addColumn('extra', 'text', (c) => c.notNull())
          .addColumn('secret_sealed', 'text')
          .addColumn('disabled', 'integer', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('client_secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big)
          .execute();
        await db.schema.createIndex('client_secrets_client').on('client_secrets').column('client_id').execute();
        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('private_sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('publish_at', big, (c) => c.notNull())
          .addColumn('activate_at', big, (c) => c.notNull())
          .addColumn('retired_at', big)
          .addColumn('expires_at', big)
          .execute();
        await db.schema
          .createTable('changes')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('ref', 'text', (c) => c.notNull())
          .addColumn('at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('audit')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('at', big, (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('before', 'text')
          .addColumn('after', 'text')
          .execute();
        await db.schema.createIndex('audit_at').on('audit').column('at').execute();
        await db.schema.createIndex('audit_target').on('audit').column('target').execute();
        await db.schema
          .createTable('opaque_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('jti', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('aud', 'text', (c) => c.notNull())
          .addColumn('iat', big, (c) => c.notNull())
          .addColumn('exp', big, (c) => c.notNull())
          .addColumn('cnf', 'text')
          .addColumn('token_type', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('opaque_tokens_exp').on('opaque_tokens').column('exp').execute();
        await db.schema
          .createTable('revoked_jtis')
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('exp', big, (c) => c.notNull())
          .addColumn('revoked_at', big, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('revoked_jtis_revoked_at').on('revoked_jtis').column('revoked_at').execute();
        await db.schema
          .createTable('use_once')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('exp', big, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('use_once_exp').on('use_once').column('exp').execute();
        await db.schema
          .createTable('registration_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('scope', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big)
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<MigrationDb>) {
        for (const t of ['registration_tokens', 'use_once', 'revoked_jtis', 'opaque_tokens', 'audit', 'changes', 'signing_keys', 'client_secrets', 'clients']) {
          await db.schema.dropTable(t).ifExists().execute();
        }
      },
    },
    // RFC 7592: one registration access token per dynamically registered client, deleted with it.
    '0002_client_registrations': {
      async up(db: Kysely<MigrationDb>) {
        await db.schema
          .createTable('client_registrations')
          .addColumn('client_id', 'text', (c) => c.primaryKey().references('clients.client_id').onDelete('cascade'))
          .addColumn('token_hash', 'text', (c) => c.notNull())
          .addColumn('scope_cap', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<MigrationDb>) {
        await db.schema.dropTable('client_registrations').ifExists().execute();
      },
    },
    // client_secret_jwt: one sealed HMAC key per secret, so a rotation's grace period covers these
    // clients too (until 0003 only `clients.secret_sealed`, the newest secret, existed). The existing
    // sealed value belongs to the client's newest secret and is copied there as it is: a migration has
    // no KEK to re-seal it, so it keeps its legacy AAD `client-secret:<client_id>` (still bound to the
    // client; jwt-assertion.ts opens it with that AAD). Newest = greatest created_at, then greatest id.
    '0003_client_secret_sealed': {
      async up(db: Kysely<MigrationDb>) {
        await db.schema.alterTable('client_secrets').addColumn('secret_sealed', 'text').execute();
        await sql`
          update client_secrets
             set secret_sealed = (select c.secret_sealed from clients c where c.client_id = client_secrets.client_id)
           where id in (
             select s.id
               from client_secrets s
               join clients c on c.client_id = s.client_id
              where c.token_endpoint_auth_method = 'client_secret_jwt'
                and c.secret_sealed is not null
                and not exists (
                  select 1 from client_secrets n
                   where n.client_id = s.client_id
                     and (n.created_at > s.created_at or (n.created_at = s.created_at and n.id > s.id))
                )
           )`.execute(db);
      },
      async down(db: Kysely<MigrationDb>) {
        await db.schema.alterTable('client_secrets').dropColumn('secret_sealed').execute();
      },
    },
    // SPEC §9 federated client authentication: trusted issuers, and each federated client's (issuer,
    // subject) — unique, so one workload identity maps to at most one client (NULLs, i.e. every other
    // client, never collide in either dialect).
    '0004_trusted_issuers': {
      async up(db: Kysely<MigrationDb>) {
        await db.schema
          .createTable('trusted_issuers')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('issuer', 'text', (c) => c.notNull().unique())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('jwks_uri', 'text')
          .addColumn('jwks', 'text')
          .addColumn('max_assertion_lifetime', 'integer', (c) => c.notNull())
          .addColumn('single_use', 'integer', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('updated_at', big, (c) => c.notNull())
          .execute();
        await db.schema.alterTable('clients').addColumn('federated_issuer', 'text').execute();
        await db.schema.alterTable('clients').addColumn('federated_subject', 'text').execute();
        await db.schema.alterTable('clients').addColumn('federated_claims', 'text').execute();
        await db.schema.createIndex('clients_federated_identity').on('clients').columns(['federated_issuer', 'federated_subject']).unique().execute();
      },
      async down(db: Kysely<MigrationDb>) {
        await db.schema.dropIndex('clients_federated_identity').ifExists().execute();
        for (const c of ['federated_claims', 'federated_subject', 'federated_issuer']) await db.schema.alterTable('clients').dropColumn(c).execute();
        await db.schema.dropTable('trusted_issuers').ifExists().execute();
      },
    },
    // SPEC §7 registration policy: an initial access token carries mandatory caps (scopes and audiences)
    // and a quota of clients (counted atomically by a conditional update); each registered client keeps
    // its caps (scope_cap, audience_cap) after the IAT is deleted, and its registration access token
    // expires `registrationAccessTokenTtl` after token_issued_at (rotated on every RFC 7592 update).
    // Rows from before: IATs have audience NULL (legacy, refused for new registrations); registered
    // clients get their current scope/audience as caps (an update may narrow, never widen them) and a
    // token issued now (a full lifetime from the upgrade).
    '0005_registration_policy': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('registration_tokens').addColumn('audience', 'text').execute();
        await db.schema.alterTable('registration_tokens').addColumn('max_clients', 'integer').execute();
        await db.schema.alterTable('registration_tokens').addColumn('clients_registered', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('client_registrations').addColumn('audience_cap', 'text').execute();
        await db.schema.alterTable('client_registrations').addColumn('token_issued_at', big).execute();
        await sql`
          update client_registrations
             set scope_cap = coalesce(scope_cap, (select c.scope from clients c where c.client_id = client_registrations.client_id)),
                 audience_cap = (select c.audience from clients c where c.client_id = client_registrations.client_id),
                 token_issued_at = ${Date.now()}`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const c of ['token_issued_at', 'audience_cap']) await db.schema.alterTable('client_registrations').dropColumn(c).execute();
        for (const c of ['clients_registered', 'max_clients', 'audience']) await db.schema.alterTable('registration_tokens').dropColumn(c).execute();
      },
    },
  };
  return { getMigrations: async () => all };
}
