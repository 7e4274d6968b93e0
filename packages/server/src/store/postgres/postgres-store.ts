import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { KyselyStore, OPAQUE_COLUMNS, toOpaqueToken, type Database as Schema, type OpaqueRow } from '../kysely-store.js';
import type { OpaqueTokenRecord } from '../types.js';

/** The opaque-token lookup as a named statement: each pooled connection parses and plans it once. */
const GET_OPAQUE = { name: 'latchkey_get_opaque_token', text: `select ${OPAQUE_COLUMNS} from opaque_tokens where token_hash = $1` } as const;

// int8 (bigint) columns hold epoch ms/seconds: well inside Number's safe range.
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): ((value: string) => unknown) =>
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- pg types getTypeParser's result as any
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * PostgreSQL store for scale-out. Connections and statements have timeouts so a lost database
 * answers 503 quickly instead of hanging requests; the pool reconnects by itself.
 */
export class PostgresStore extends KyselyStore {
  readonly dialect = 'postgres' as const;
  protected readonly db: Kysely<Schema>;
  readonly pool: pg.Pool;

  constructor(url: string, opts: { max?: number } = {}) {
    super();
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 5000,
      query_timeout: 6000,
      types,
    });
    // A client losing its connection must not crash the process: idle ones report through the pool,
    // checked-out ones emit on themselves (pg emits 'error' even when a query also rejects).
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
    this.db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: this.pool }) });
  }

  /**
   * Introspection of an opaque token on a cache miss: a named prepared query straight on the pool, without kysely's
   * query building (issue #16). A transaction-pooling proxy must keep protocol-level prepared statements per client
   * (PgBouncer ≥ 1.21 with `max_prepared_statements`), as for any named statement (docs/decisions.md).
   */
  override getOpaqueToken(tokenHash: string): Promise<OpaqueTokenRecord | undefined> {
    return this.run(async () => {
      const res = await this.pool.query<OpaqueRow, [string]>({ ...GET_OPAQUE, values: [tokenHash] });
      const r = res.rows[0];
      return r ? toOpaqueToken(r) : undefined;
    });
  }

  protected isUnavailable(e: unknown): boolean {
    const err = e as { code?: string; message?: string };
    const code = err?.code ?? '';
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
    // Class 08 connection exceptions, 57P admin shutdown/crash, 53 insufficient resources, 58 system error.
    if (/^(08|57P|53|58)/.test(code)) return true;
    const msg = err?.message ?? '';
    return /timeout|terminat|Connection|connect/i.test(msg) && !/syntax/i.test(msg);
  }
}
