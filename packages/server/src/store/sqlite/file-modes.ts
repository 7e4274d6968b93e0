import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * File modes of the data directory and its secrets (issue #14 item 6): the directory 0700, the SQLite
 * database with its WAL/SHM files and the key-encryption-key file 0600 — created so, and fixed (with a
 * warning naming the path) when an existing one is open to group or others. POSIX only: on Windows
 * modes do not apply and nothing is changed.
 */
export type Warn = (message: string) => void;

const POSIX = process.platform !== 'win32';
const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/** Creates `dir` (0700) or tightens an existing one to 0700. */
export function ensurePrivateDir(dir: string, warn: Warn): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (POSIX) chmodSync(dir, 0o700);
    return;
  }
  if (!POSIX) return;
  const mode = statSync(dir).mode;
  if ((mode & 0o077) !== 0) {
    chmodSync(dir, 0o700);
    warn(`data directory ${dir} had mode ${octal(mode)}: changed to 0700`);
  }
}

/** Tightens an existing file to 0600 (nothing when it does not exist). */
export function ensurePrivateFile(path: string, warn: Warn): void {
  if (!POSIX || !existsSync(path)) return;
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    warn(`${path} had mode ${octal(mode)}: changed to 0600`);
  }
}

/** Creates an empty file with mode 0600 unless it exists (SQLite gives its WAL/SHM files the database file's mode). */
export function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** The database file and SQLite's companions. */
export const sqliteFiles = (path: string): string[] => [path, `${path}-wal`, `${path}-shm`, `${path}-journal`];
