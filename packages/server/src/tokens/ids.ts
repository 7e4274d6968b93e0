import { randomFillSync } from 'node:crypto';

// One getrandom() call per 256 ids instead of one per id (filled on first use: nothing runs at import).
const POOL = 16 * 256;
let pool: Buffer | undefined;
let offset = POOL;

/** 128 random bits, base64url (22 chars): token ids and opaque-token bodies. */
export function randomId(bytes = 16): string {
  if (pool === undefined || offset + bytes > POOL) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL));
    offset = 0;
  }
  const s = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return s;
}
