import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore, OPAQUE_COLUMNS, toOpaqueToken, type Database as Schema, type OpaqueRow } from '../kysely-store.js';
import type { OpaqueTokenRecord } from '../types.js';
import { createPrivateFile, ensurePrivateFile, sqliteFiles, type Warn } from './file-modes.js';

const UNAVAILABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/**
 * Kysely's SQLite driver compiles a statement for every query (`prepare` was ~22 µs of an
 * introspection, docs/performance.md). The SQL text of a query shape is stable, so statements are kept
 * by text (bounded; a statement still iterating a stream is never handed out twice). SQLite re-prepares
 * a cached statement by itself after a schema change.
 */
function statementCache(db: Database.Database, max = 256) {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string): Database.Statement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) return hit;
      const stmt = db.prepare(sql);
      if (!hit) {
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

/**
 * Embedded store: one SQLite file in WAL mode, safe for several processes on one machine
 * (CLI + server, or several workers). synchronous=FULL: an acknowledged write survives power loss
 * (docs/reliability.md); busy_timeout lets concurrent writers queue instead of failing.
 */
const BUSY_TIMEOUT_MS = 5000;

/** Runs `fn`, retrying for up to the busy timeout while another process holds a lock SQLite will not wait for. */
function retryWhileBusy<T>(fn: () => T): T {
  const until = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') || Date.now() > until) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

export class SqliteStore extends KyselyStore {
  readonly dialect = 'sqlite' as const;
  protected readonly db: Kysely<Schema>;
  readonly sqlite: Database.Database;

  /**
   * `cacheMb` bounds SQLite's page cache (better-sqlite3 builds with a 16 MiB default; Latchkey's is 4 MiB). The cache fills
   * as the tables grow — resident memory rises by up to this much, then stays flat (docs/reliability.md).
   */
  constructor(path: string, cacheMb = 4, opts: { warn?: Warn } = {}) {
    super();
    const file = path !== ':memory:' && path !== '' && !path.startsWith('file:');
    if (file) {
      // Directories it creates are 0700; the database is created 0600 before SQLite opens it, so its
      // WAL and SHM files (which SQLite creates with the database's mode) are 0600 too.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      createPrivateFile(path);
    }
    // better-sqlite3's `timeout` is SQLite's busy timeout; switching to WAL takes a lock that the busy handler
    // does not wait for, so a second process opening a brand-new file at the same moment retries that itself.
    this.sqlite = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    retryWhileBusy(() => this.sqlite.pragma('journal_mode = WAL'));
    // Existing files from older versions (0644): warn and fix.
    if (file) for (const f of sqliteFiles(path)) ensurePrivateFile(f, opts.warn ?? (() => {}));
    this.sqlite.pragma('synchronous = FULL');
    this.sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.sqlite.pragma('foreign_keys = ON');
    this.sqlite.pragma(`cache_size = ${-Math.floor(cacheMb * 1024)}`);
    this.db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: statementCache(this.sqlite) }) });
  }

  /**
   * Kysely's SQLite adapter takes no migration lock (it assumes one connection), so two processes starting on a new
   * file would both create the tables. One write transaction around the whole run serialises them: the second waits
   * (busy timeout), then finds every migration applied. SQLite's DDL is transactional, so a failed run leaves nothing.
   */
  override async migrate(): Promise<void> {
    retryWhileBusy(() => this.sqlite.exec('begin immediate'));
    try {
      await super.migrate();
      this.sqlite.exec('commit');
    } catch (e) {
      if (this.sqlite.inTransaction) this.sqlite.exec('rollback');
      throw e;
    }
  }

  #useOnceTx: ((entries: { key: string; exp: number }[], now: number) => Set<string>) | undefined;

  /**
   * The single-use check sits on the hot path of every client assertion and DPoP proof: one prepared
   * statement in one transaction (one fsync per group commit), without building a query per batch.
   */
  override useOnceMany(entries: { key: string; exp: number }[]): Promise<Set<string>> {
    if (entries.length === 0) return Promise.resolve(new Set());
    return this.run(async () => {
      if (!this.#useOnceTx) {
        const stmt = this.sqlite.prepare(
          'insert into use_once (key, exp) values (?, ?) on conflict (key) do update set exp = excluded.exp where use_once.exp < ? returning key',
        );
        this.#useOnceTx = this.sqlite.transaction((es: { key: string; exp: number }[], now: number) => {
          const won = new Set<string>();
          for (const e of es) {
            const r = stmt.get(e.key, e.exp, now) as { key: string } | undefined;
            if (r) won.add(r.key);
          }
          return won;
        });
      }
      // synchronous=NORMAL for this transaction only (docs/decisions.md "Single-use jti without an fsync"): in WAL mode
      // the commit is in the WAL in the OS page cache, so a crash of the process (kill -9) loses nothing; only a power
      // loss or kernel crash before the next fsync'd commit can forget recent jtis, and those reopen for replay only
      // until their assertion's own exp (at most the assertion lifetime). Every other write stays FULL.
      this.sqlite.pragma('synchronous = NORMAL');
      try {
        return this.#useOnceTx(entries, Math.floor(Date.now() / 1000));
      } finally {
        this.sqlite.pragma('synchronous = FULL');
      }
    });
  }

  #getOpaque: Database.Statement<[string], OpaqueRow> | undefined;

  /**
   * Introspection of an opaque token on a cache miss: one better-sqlite3 statement prepared once, without kysely's
   * query building and compiling (issue #16).
   */
  override getOpaqueToken(tokenHash: string): Promise<OpaqueTokenRecord | undefined> {
    return this.run(() => {
      this.#getOpaque ??= this.sqlite.prepare<[string], OpaqueRow>(`select ${OPAQUE_COLUMNS} from opaque_tokens where token_hash = ?`);
      const r = this.#getOpaque.get(tokenHash);
      return Promise.resolve(r ? toOpaqueToken(r) : undefined);
    });
  }

  protected isUnavailable(e: unknown): boolean {
    const code = (e as { code?: string })?.code;
    return typeof code === 'string' && [...UNAVAILABLE].some((c) => code.startsWith(c));
  }
}
