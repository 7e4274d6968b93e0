/**
 * Failed-authentication limits (RFC 6749 §2.3.1 / RFC 6819 §5.1.4.2.3: protect the token endpoint
 * against brute force and floods of bad credentials).
 *
 * - per address and per (address, client_id): once over the limit, every request from there is
 *   answered 429 before any credential is checked (cheap refusal of floods);
 * - per client_id alone (a larger budget, `clientFactor` × max): once over it, *failed* attempts for
 *   that client get 429 instead of 401, but a request with the right credentials still succeeds —
 *   an attacker spraying one client id from many addresses cannot lock the real client out.
 * Fixed windows, in memory; the Redis-backed variant shares counters between nodes.
 */
export interface FailureLimiter {
  /** Seconds to wait when this address (or address+client) is blocked, else 0. */
  blocked(address: string, clientId: string | undefined): Promise<number> | number;
  /** Counts a failure; returns seconds to wait when the client-wide budget is exhausted, else 0. */
  fail(address: string, clientId: string | undefined): Promise<number> | number;
}

export const CLIENT_FACTOR = 5;

export function limiterKeys(address: string, clientId: string | undefined, prefix = '') {
  return {
    blocking: clientId ? [`${prefix}a:${address}`, `${prefix}c:${address}|${clientId}`] : [`${prefix}a:${address}`],
    client: clientId ? `${prefix}k:${clientId}` : undefined,
  };
}

export class MemoryFailureLimiter implements FailureLimiter {
  #counts = new Map<string, { n: number; resetAt: number }>();
  #sweepAt = 0;

  constructor(private readonly max: number, private readonly windowSeconds: number) {}

  #get(key: string, now: number) {
    const e = this.#counts.get(key);
    if (!e || e.resetAt <= now) return undefined;
    return e;
  }

  #wait(e: { resetAt: number }, now: number): number {
    return Math.max(1, Math.ceil((e.resetAt - now) / 1000));
  }

  blocked(address: string, clientId: string | undefined): number {
    const now = Date.now();
    for (const key of limiterKeys(address, clientId).blocking) {
      const e = this.#get(key, now);
      if (e && e.n >= this.max) return this.#wait(e, now);
    }
    return 0;
  }

  fail(address: string, clientId: string | undefined): number {
    const now = Date.now();
    if (now > this.#sweepAt) {
      for (const [k, e] of this.#counts) if (e.resetAt <= now) this.#counts.delete(k);
      this.#sweepAt = now + this.windowSeconds * 1000;
    }
    const { blocking, client } = limiterKeys(address, clientId);
    let wait = 0;
    for (const key of client ? [...blocking, client] : blocking) {
      let e = this.#get(key, now);
      if (e) e.n++;
      else this.#counts.set(key, (e = { n: 1, resetAt: now + this.windowSeconds * 1000 }));
      if (key === client && e.n > this.max * CLIENT_FACTOR) wait = this.#wait(e, now);
    }
    return wait;
  }
}
