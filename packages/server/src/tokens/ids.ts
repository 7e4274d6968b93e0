import { randomFillSync } from 'node:crypto';

// One getrandom() call per 256 ids instead of one per id.
const POOL = 16 * 256;
let pool = Buffer.allocUnsafe(POOL);
let offset = POOL;

/** 128 random bits, base64url (22 chars): token ids and opaque-token bodies. */
export function randomId(bytes = 16): string {
  if (offset + bytes > POOL) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL));
    offset = 0;
  }
  const s = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return s;
}
