import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import pg from 'pg';
import { describeSetting, environmentActor, loadConfig, showInternalDetails, type Config, type ConfigInput } from '../config.js';
import { createLogger } from '../app/server.js';
import { closeRuntime, openRuntime, type Runtime } from '../app/runtime.js';
import { StoreUnavailableError } from '../shared/errors.js';
import { describeError, describeStore, sqlitePath, storeError, UsageError } from './describe-error.js';

export interface StoreOptions {
  dataDir?: string;
  db?: string;
  config?: string;
  json?: boolean;
}

/** --data-dir, --db, --config and --json on every command (SPEC §4). */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data-dir <dir>', 'data directory (SQLite store, key-encryption key)').env('LATCHKEY_DATA_DIR'))
    .addOption(new Option('--db <url>', 'store URL: sqlite:PATH or postgres://…').env('LATCHKEY_DB'))
    .option('--config <file>', 'JSON configuration file')
    .option('--json', 'machine-readable JSON output');
}

/** `defaults` is the lowest layer (below the config file): per-command defaults such as start's worker count. */
export function configFrom(opts: StoreOptions, extra: ConfigInput = {}, defaults: ConfigInput = {}): Config {
  return loadConfig({ dataDir: opts.dataDir, db: opts.db, ...extra }, undefined, opts.config, defaults);
}

/**
 * Opens the store for a one-shot command and always closes it. A store that cannot be opened is one
 * line naming it (path, or host:port) and the settings; with `mustExist` (read commands, see main.ts)
 * a store that is not there is refused before anything is created.
 */
export async function withRuntime<T>(opts: StoreOptions, fn: (rt: Runtime) => Promise<T>, extra: ConfigInput = {}, mode: { mustExist?: boolean } = {}): Promise<T> {
  const config = configFrom(opts, { logLevel: 'silent', ...extra });
  if (mode.mustExist) await assertStoreExists(config);
  let s: Runtime;
  try {
    s = await openRuntime(config, createLogger('silent'));
  } catch (e) {
    throw storeError(e, config.db);
  }
  try {
    return await fn(s);
  } catch (e) {
    throw e instanceof StoreUnavailableError ? storeError(e, config.db) : e;
  } finally {
    await closeRuntime(s).catch(() => {});
  }
}

/** Read commands never create a store: a typo in --data-dir / --db is an error naming the path. */
export async function assertStoreExists(config: Config): Promise<void> {
  const path = sqlitePath(config);
  if (path !== undefined) {
    if (path === ':memory:' || !existsSync(path)) {
      throw new UsageError(`no store at ${path} (check ${describeSetting('dataDir')} / ${describeSetting('db')}; read commands never create one)`);
    }
    return;
  }
  const c = new pg.Client({ connectionString: config.db, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    const r = await c.query<{ t: string | null }>("select to_regclass('kysely_migration')::text as t");
    if (!r.rows[0]?.t) throw new UsageError(`no Latchkey store in ${describeStore(config.db)} (check ${describeSetting('db')}; read commands never create one)`);
  } catch (e) {
    throw storeError(e, config.db);
  } finally {
    await c.end().catch(() => {});
  }
}

export function print(opts: { json?: boolean }, value: unknown, human: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}

export function kv(obj: Record<string, unknown>): string {
  const w = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(w)}  ${Array.isArray(v) ? v.join(' ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}

export function table(rows: Record<string, unknown>[], cols: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null || v === undefined ? '' : JSON.stringify(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** Any error as one clear line (never a stack trace or SQL) and exit code 1 (2 for the operator's input). */
export function fail(e: unknown, json?: boolean): never {
  const d = describeError(e);
  if (json) process.stdout.write(JSON.stringify({ error: d.error, error_description: d.message }) + '\n');
  else process.stderr.write(`latchkey: ${d.message}\n`);
  // The withheld details (SQL, stack) are for whoever debugs it, on request only.
  if (d.error === 'server_error' && showInternalDetails()) process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(d.code);
}

/** commander argument parsers: a bad value is exit 2 with one line naming the option. */
export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER, unit = ''): (v: string) => number {
  return (v: string) => {
    const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` from ${min} to ${max}`}${unit ? ` (${unit})` : ''}`);
    }
    return n;
  };
}

export const actor = (): string => environmentActor();
