import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sealer } from '../keys/seal.js';

/** A signed-in console user. Lives only inside the sealed, HttpOnly session cookie. */
export interface ConsoleSession {
  readonly clientId: string;
  /** Bearer access token with scope latchkey:admin, obtained by client credentials at sign-in. */
  readonly accessToken: string;
  /** Synchronizer CSRF token; the page reads it from GET /console/api/session and sends it in X-CSRF-Token. */
  readonly csrf: string;
  /** Epoch ms; the session ends with its access token (no refresh: sign in again). */
  readonly expiresAt: number;
}

const AAD = 'latchkey console session v1';

/**
 * Sessions are sealed into the cookie (AES-256-GCM under the key-encryption key, Sealer) rather than
 * kept in a per-process map: every worker process and every node sharing the KEK can read them, so
 * `latchkey start --workers N` and load balancers need no sticky sessions. The browser holds only
 * ciphertext in an HttpOnly cookie it cannot read; tampering fails the GCM tag. Sign-out revokes the
 * access token inside (RFC 7009 semantics), which ends the session on every node via the change feed.
 */
export function newSession(clientId: string, accessToken: string, expiresAt: number): ConsoleSession {
  return { clientId, accessToken, csrf: randomBytes(32).toString('base64url'), expiresAt };
}

export function sealSession(sealer: Sealer, s: ConsoleSession): string {
  return sealer.seal(JSON.stringify({ c: s.clientId, t: s.accessToken, x: s.csrf, e: s.expiresAt }), AAD);
}

/** The session in a cookie value, or undefined when absent, forged, tampered with or expired. */
export function openSession(sealer: Sealer, cookie: string | undefined, now = Date.now()): ConsoleSession | undefined {
  if (!cookie || cookie.length > 8192) return undefined;
  try {
    const v = JSON.parse(sealer.open(cookie, AAD).toString('utf8')) as { c: unknown; t: unknown; x: unknown; e: unknown };
    if (typeof v.c !== 'string' || typeof v.t !== 'string' || typeof v.x !== 'string' || typeof v.e !== 'number') return undefined;
    if (v.e <= now) return undefined;
    return { clientId: v.c, accessToken: v.t, csrf: v.x, expiresAt: v.e };
  } catch {
    return undefined;
  }
}

/** Constant-time equality of two strings (CSRF tokens). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Cookie header → value of `name` (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const h = Array.isArray(header) ? header.join('; ') : header;
  if (!h) return undefined;
  for (const part of h.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
