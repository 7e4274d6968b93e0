import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, ensurePrivateFile, type Warn } from '../store/sqlite/file-modes.js';

/**
 * Envelope encryption under the key-encryption key (KEK): AES-256-GCM, 96-bit random IV,
 * additional authenticated data binding each ciphertext to its purpose (e.g. "signing-key:<kid>"),
 * so a sealed value cannot be moved to another row. Format: "v1." + base64url(iv | ciphertext | tag).
 */
export class Sealer {
  readonly #key: Buffer;
  constructor(kek: Buffer) {
    if (kek.length !== 32) throw new Error('key-encryption key must be 32 bytes');
    this.#key = hkdf(kek, 'latchkey seal v1');
  }

  seal(plaintext: string | Buffer, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return 'v1.' + Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url');
  }

  open(sealed: string, aad: string): Buffer {
    if (!sealed.startsWith('v1.')) throw new Error('unknown sealed format');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    if (raw.length < 28) throw new Error('sealed value too short');
    const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
  }
}

export function hkdf(ikm: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), Buffer.from(info), 32));
}

function decodeKek(v: string): Buffer {
  const s = v.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  const b = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (b.length !== 32) throw new Error('LATCHKEY_KEK must be 32 bytes encoded as hex, base64 or base64url');
  return b;
}

/**
 * The KEK comes from LATCHKEY_KEK when set (recommended for production and required when several
 * nodes share a database), otherwise from DATA_DIR/kek, created with mode 0600 on first start.
 * Trade-off (docs/operations.md): the file lives next to the SQLite database, so a copy of the whole
 * data dir holds both lock and key; it still protects a database dump or a PostgreSQL backup.
 */
export function loadKek(opts: { kek?: string | undefined; dataDir: string; create: boolean; warn?: Warn }): Buffer {
  const warn = opts.warn ?? (() => {});
  // An existing data directory is tightened to 0700 (issue #14): it holds the database and the KEK file.
  if (existsSync(opts.dataDir)) ensurePrivateDir(opts.dataDir, warn);
  if (opts.kek) return decodeKek(opts.kek);
  const path = join(opts.dataDir, 'kek');
  if (existsSync(path)) {
    ensurePrivateFile(path, warn);
    return decodeKek(readFileSync(path, 'utf8'));
  }
  if (!opts.create) throw new Error(`no key-encryption key: set LATCHKEY_KEK or create ${path}`);
  ensurePrivateDir(opts.dataDir, warn);
  const kek = randomBytes(32);
  try {
    writeFileSync(path, kek.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another process created it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return decodeKek(readFileSync(path, 'utf8'));
    throw e;
  }
  chmodSync(path, 0o600);
  return kek;
}
