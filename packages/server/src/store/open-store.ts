import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { PostgresStore } from './postgres/postgres-store.js';

/** `sqlite:PATH` or `postgres://…` → the matching adapter (not yet migrated). */
export function openStore(url: string, opts: { sqliteCacheMb?: number; warn?: (message: string) => void } = {}): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), opts.sqliteCacheMb, { ...(opts.warn ? { warn: opts.warn } : {}) });
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return new PostgresStore(url);
  throw new Error(`unsupported store URL (expected sqlite:PATH or postgres://…)`);
}
