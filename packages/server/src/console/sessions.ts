import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed-in console user: the admin access token lives here, server-side, never in the browser. */
export interface ConsoleSession {
  readonly id: string;
  readonly clientId: string;
  /** Bearer access token with scope latchkey:admin, obtained by client credentials at sign-in. */
  readonly accessToken: string;
  /** Synchronizer CSRF token; the browser sends it back in X-CSRF-Token on every state-changing call. */
  readonly csrf: string;
  /** Epoch ms; the session ends with its access token (no refresh: sign in again). */
  readonly expiresAt: number;
}

const MAX_SESSIONS = 10_000;

/**
 * In-memory sessions keyed by a 256-bit random id (the cookie value). Per process: behind a load
 * balancer with several nodes, use sticky sessions for the console (docs/console.md).
 */
export class SessionStore {
  #sessions = new Map<string, ConsoleSession>();

  create(clientId: string, accessToken: string, expiresAt: number): ConsoleSession {
    this.sweep();
    if (this.#sessions.size >= MAX_SESSIONS) {
      // Oldest first (Map keeps insertion order).
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    const s: ConsoleSession = { id: randomBytes(32).toString('base64url'), clientId, accessToken, csrf: randomBytes(32).toString('base64url'), expiresAt };
    this.#sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined, now = Date.now()): ConsoleSession | undefined {
    if (!id || id.length > 100) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= now) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Ends every session of a client (e.g. when it is disabled or deleted). */
  deleteByClient(clientId: string): void {
    for (const [k, v] of this.#sessions) if (v.clientId === clientId) this.#sessions.delete(k);
  }

  sweep(now = Date.now()): void {
    for (const [k, v] of this.#sessions) if (v.expiresAt <= now) this.#sessions.delete(k);
  }

  get size(): number {
    return this.#sessions.size;
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
