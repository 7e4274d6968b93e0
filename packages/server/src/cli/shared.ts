import { Command, Option } from 'commander';
import { ConfigError, environmentActor, loadConfig, type Config, type ConfigInput } from '../config.js';
import { createLogger } from '../app/server.js';
import { closeRuntime, openRuntime, type Runtime } from '../app/runtime.js';
import { OAuthError } from '../shared/errors.js';

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

/** Opens the store for a one-shot command and always closes it. */
export async function withRuntime<T>(opts: StoreOptions, fn: (rt: Runtime) => Promise<T>, extra: ConfigInput = {}): Promise<T> {
  const config = configFrom(opts, { logLevel: 'silent', ...extra });
  const s = await openRuntime(config, createLogger('silent'));
  try {
    return await fn(s);
  } finally {
    await closeRuntime(s);
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
  const cell = (v: unknown) => (Array.isArray(v) ? v.join(' ') : v === null || v === undefined ? '' : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** Turns known errors into one clear line and exit code 1 (2 for usage/config errors). */
export function fail(e: unknown, json?: boolean): never {
  let code = 1;
  let body: { error: string; error_description: string };
  if (e instanceof ConfigError) {
    code = 2;
    body = { error: 'invalid_configuration', error_description: e.message };
  } else if (e instanceof OAuthError) {
    body = e.toJSON();
  } else {
    body = { error: 'error', error_description: (e as Error)?.message ?? String(e) };
  }
  if (json) process.stdout.write(JSON.stringify(body) + '\n');
  else process.stderr.write(`latchkey: ${body.error_description}\n`);
  process.exit(code);
}

export const actor = (): string => environmentActor();
