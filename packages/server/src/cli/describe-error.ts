import { ConfigError, describeSetting, type Config } from '../config.js';
import { OAuthError, StoreUnavailableError } from '../shared/errors.js';

/**
 * Every error the CLI shows is one line that names what the operator can fix — the setting, the path,
 * the host — and the cause. Never a stack trace, never SQL: driver messages are not passed through
 * unless they are known to be plain words (issue #17 item 5).
 */

/** A mistake in what the operator gave (flags, files): exit 2 like a usage error. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where the store is, without credentials: `PostgreSQL at host:port/db` or `SQLite file PATH`. */
export function describeStore(db: string): string {
  if (db.startsWith('sqlite:')) return `SQLite file ${db.slice('sqlite:'.length)}`;
  try {
    const u = new URL(db);
    return `PostgreSQL at ${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'PostgreSQL (unparsable URL)';
  }
}

const SQLITE_CODES: Record<string, string> = {
  SQLITE_CANTOPEN: 'unable to open the database file (missing directory or no permission)',
  SQLITE_READONLY: 'the database file is read-only',
  SQLITE_NOTADB: 'the file is not a database',
  SQLITE_CORRUPT: 'the database file is corrupt',
  SQLITE_BUSY: 'the database is locked by another process',
  SQLITE_LOCKED: 'the database is locked',
  SQLITE_FULL: 'the disk is full',
  SQLITE_IOERR: 'an I/O error',
  SQLITE_PERM: 'permission denied',
};

const PG_CODES: Record<string, string> = {
  '3D000': 'the database does not exist',
  '28P01': 'password authentication failed',
  '28000': 'the role may not log in (authentication rejected)',
  '42501': 'permission denied',
  '53300': 'too many connections',
  '57P03': 'the server is starting up or shutting down',
};

const NET_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset',
  EACCES: 'permission denied',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Follows `cause` links to the deepest error with a code. */
function rootCode(e: unknown): { code?: string; message?: string } {
  let cur: unknown = e;
  let found: { code?: string; message?: string } = {};
  for (let i = 0; i < 6 && cur && typeof cur === 'object'; i++) {
    const c = cur as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof c.code === 'string') found = { code: c.code, message: typeof c.message === 'string' ? c.message : undefined };
    else if (i > 0 && found.code === undefined && typeof c.message === 'string') found = { message: c.message };
    // AggregateError (several addresses tried): take the first.
    cur = c.cause ?? (Array.isArray(c.errors) ? c.errors[0] : undefined);
  }
  return found;
}

/** The cause of a store failure in plain words. */
function storeCause(e: unknown): string {
  const { code, message } = rootCode(e);
  if (code && SQLITE_CODES[code]) return SQLITE_CODES[code];
  if (code?.startsWith('SQLITE_')) return 'a database error';
  if (code && PG_CODES[code]) return PG_CODES[code];
  if (code && NET_CODES[code]) return `${NET_CODES[code]} (${code})`;
  if (message && /timeout/i.test(message)) return 'connection timed out';
  return 'cannot be used';
}

/** A failure to open/migrate/read the store, as one line naming the store and the settings. */
export function storeError(e: unknown, db: string): Error {
  if (e instanceof ConfigError || e instanceof OAuthError || e instanceof UsageError) return e;
  const settings = db.startsWith('sqlite:') ? `settings ${describeSetting('db')}, ${describeSetting('dataDir')}` : `setting ${describeSetting('db')}`;
  return new StoreOpenError(`store unavailable: ${describeStore(db)}: ${storeCause(e)} (${settings})`);
}

export class StoreOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreOpenError';
  }
}

/** A failed request to `--server URL`, naming the URL and the cause. */
export function serverError(e: unknown, server: string): Error {
  if (e instanceof OAuthError || e instanceof UsageError) return e;
  if (e instanceof SyntaxError) return new UsageError(`--server ${server}: the answer is not JSON (is this a Latchkey server?)`);
  const { code, message } = rootCode(e);
  if (code && NET_CODES[code]) return new UsageError(`--server ${server}: ${NET_CODES[code]} (${code})`);
  if (code?.startsWith('ERR_TLS') || code?.startsWith('CERT_') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return new UsageError(`--server ${server}: TLS certificate not trusted (${code}; NODE_EXTRA_CA_CERTS can add a CA)`);
  }
  if ((e as Error)?.message === 'fetch failed') return new UsageError(`--server ${server}: cannot reach it (${code ?? message ?? 'network error'})`);
  return e instanceof Error ? e : new Error(String(e));
}

/** Patterns that must never reach an operator's terminal (checked by test/cli/bad-input.test.ts too). */
const INTERNALS = /\n\s+at |SQLITE_|constraint failed|\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET)\b|syntax error at or near|datatype mismatch/i;

/** The one line shown for any error, and the exit code (2 for the operator's mistakes in input). */
export function describeError(e: unknown): { message: string; code: number; error: string } {
  if (e instanceof ConfigError) return { message: firstLine(e.message), code: 2, error: 'invalid_configuration' };
  if (e instanceof UsageError) return { message: firstLine(e.message), code: 2, error: 'invalid_request' };
  if (e instanceof OAuthError) {
    const j = e.toJSON();
    // Metadata the operator typed (flags, an import file) that the rules refuse: their input, like a usage error.
    return { message: firstLine(j.error_description), code: j.error === 'invalid_client_metadata' || j.error === 'invalid_request' ? 2 : 1, error: j.error };
  }
  if (e instanceof StoreOpenError) return { message: e.message, code: 1, error: 'temporarily_unavailable' };
  if (e instanceof StoreUnavailableError) return { message: `store unavailable: ${storeCause(e)}`, code: 1, error: 'temporarily_unavailable' };
  const message = e instanceof Error ? e.message : String(e);
  if (INTERNALS.test(message) || /^SQLITE_|^\d{2}[0-9A-Z]{3}$/.test(rootCode(e).code ?? '')) return { message: 'unexpected internal error (details withheld; LATCHKEY_LOG_LEVEL=debug shows them)', code: 1, error: 'server_error' };
  return { message: firstLine(message) || 'unexpected error', code: 1, error: 'error' };
}

const firstLine = (s: string) => s.split('\n')[0]!.trim();

/** Whether `c.db` is a SQLite URL, and its path. */
export function sqlitePath(c: Pick<Config, 'db'>): string | undefined {
  return c.db.startsWith('sqlite:') ? c.db.slice('sqlite:'.length) : undefined;
}
