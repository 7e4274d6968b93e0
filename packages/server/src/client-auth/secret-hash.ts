import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { hkdf } from '../keys/seal.js';

/**
 * Client secrets are server-generated, 256 bits of randomness (SPEC §3), so they cannot be guessed or
 * dictionary-attacked: a slow password hash (bcrypt/scrypt/argon2) buys nothing against brute force
 * and costs milliseconds per token request — the weakness that caps Hydra at a few hundred tokens/s.
 * We store HMAC-SHA-256(pepper, secret), where the pepper is derived from the key-encryption key and
 * never stored with the database: a stolen database alone cannot even be used to test a guess.
 * Verification costs ~1–2 µs (docs/decisions.md). bcrypt's 72-byte truncation does not apply: HMAC
 * reads the whole secret.
 */
import { CLIENT_SECRET_PREFIX } from '../shared/token-prefixes.js';
export const SECRET_PREFIX = CLIENT_SECRET_PREFIX;

export class SecretHasher {
  // A KeyObject, so the HMAC key is not re-imported on every verification.
  readonly #pepper: KeyObject;
  readonly #dummy: Buffer;

  constructor(kek: Buffer) {
    this.#pepper = createSecretKey(hkdf(kek, 'latchkey client-secret hash v1'));
    this.#dummy = this.#digest(randomBytes(32).toString('base64url'));
  }

  #digest(secret: string): Buffer {
    return createHmac('sha256', this.#pepper).update(secret, 'utf8').digest();
  }

  /** Stored form: "h1." + base64url(HMAC). */
  hash(secret: string): string {
    return 'h1.' + this.#digest(secret).toString('base64url');
  }

  /**
   * Constant-time check of `secret` against every live stored hash (several during a rotation grace).
   * Always does the same work whatever matches, and with `hashes` empty (unknown client) compares
   * against a dummy so that unknown ids and wrong secrets cost the same.
   */
  verify(secret: string, hashes: readonly string[]): boolean {
    const d = this.#digest(secret);
    let ok = false;
    if (hashes.length === 0) {
      timingSafeEqual(d, this.#dummy);
      return false;
    }
    for (const h of hashes) {
      const stored = h.startsWith('h1.') ? Buffer.from(h.slice(3), 'base64url') : this.#dummy;
      if (stored.length === d.length && timingSafeEqual(d, stored)) ok = true;
    }
    return ok;
  }
}

/** A new client secret: "lk_" + 256 random bits, base64url (URL-safe, scannable prefix). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * A server-generated client_id: 128 random bits, base64url — re-drawn while it starts with "-" or "_",
 * so it never reads as a command-line option or a private name.
 */
export function generateClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

/** AAD of the legacy per-client sealed secret (`clients.secret_sealed`, and rows copied there by migration 0003). */
export const secretAad = (clientId: string) => `client-secret:${clientId}`;
/**
 * AAD of a per-secret sealed value (`client_secrets.secret_sealed`): binds it to its client and its row,
 * so a sealed value moved to another row (or another client) no longer opens. JSON keeps the pair
 * unambiguous (client ids may contain ':'), and the prefix never equals a legacy {@link secretAad}.
 */
export const secretRowAad = (clientId: string, secretId: string) => `client-secret-row:${JSON.stringify([clientId, secretId])}`;
