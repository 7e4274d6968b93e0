/**
 * Failed-authentication limits (SPEC §5 "Failed-authentication limits"; RFC 6749 §2.3.1 / RFC 6819
 * §5.1.4.2.3: protect the token endpoint against brute force and floods of bad credentials).
 *
 * A request with valid credentials is never refused because of failures made by others:
 * - **per (address, client id)**, `max` failures per window: over it, that pair is refused with 429
 *   before any credential check (the one hard block a known client id can meet, and only from the
 *   address that failed);
 * - **per client id**, `CLIENT_FACTOR × max`: over it, *failed* attempts for that client get 429 instead
 *   of 401, but a request with the right credentials still succeeds (spraying one id from many
 *   addresses cannot lock the real client out);
 * - **per address, unknown client ids only**, `max`: over it, requests from that address naming a client
 *   id this server does not know (or none) are refused before any check (spraying random ids). Requests
 *   from that address for a *known* client id are not affected.
 *
 * Claimed ids are checked against the client-id pattern before they reach a limiter (`isClientIdSyntax`),
 * so keys are bounded in size; the memory limiter also bounds its number of entries.
 * Fixed windows. Implementations: in memory (one process), over IPC to the cluster primary (every
 * worker of a node), Redis (every node).
 */
export interface FailureLimiter {
  /** Seconds to wait when this request must be refused before any credential check, else 0. */
  blocked(address: string, clientId: string | undefined, known: boolean): Promise<number> | number;
  /** Counts a failure; seconds to wait when it must be answered 429 instead of 401, else 0. */
  fail(address: string, clientId: string | undefined, known: boolean): Promise<number> | number;
}

/** The per-client-id budget is this many times the per-(address, client id) budget. */
export const CLIENT_FACTOR = 5;

/** SPEC §3 client identifier syntax; anything else is refused before it is used as a key or logged. */
export const CLIENT_ID_SYNTAX = /^[A-Za-z0-9._:-]{3,128}$/;
export const isClientIdSyntax = (id: string): boolean => CLIENT_ID_SYNTAX.test(id);

/** One counter a failure increments, with the budget after which it says "wait". */
export interface LimitKey {
  readonly key: string;
  readonly max: number;
}

/**
 * The counters of a request. `block` is checked before credentials (refuse at n ≥ max), `count` is
 * incremented on a failure (429 instead of 401 once n > max of any of them).
 */
export function limitKeys(address: string, clientId: string | undefined, known: boolean, max: number, prefix = ''): { block: LimitKey; count: LimitKey[] } {
  if (known && clientId !== undefined) {
    const pair = { key: `${prefix}p:${address}|${clientId}`, max };
    return { block: pair, count: [pair, { key: `${prefix}k:${clientId}`, max: max * CLIENT_FACTOR }] };
  }
  const spray = { key: `${prefix}u:${address}`, max };
  return { block: spray, count: [spray] };
}

/** Most counters kept in memory; beyond it the oldest are dropped (an attacker can only forget counts of its own making). */
export const MAX_ENTRIES = 100_000;

/** Fixed-window counters in one process. */
export class MemoryFailureLimiter implements FailureLimiter {
  #counts = new Map<string, { n: number; resetAt: number }>();

  constructor(
    readonly max: number,
    readonly windowSeconds: number,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  #get(key: string, now: number) {
    const e = this.#counts.get(key);
    if (!e || e.resetAt <= now) return undefined;
    return e;
  }

  #wait(e: { resetAt: number }, now: number): number {
    return Math.max(1, Math.ceil((e.resetAt - now) / 1000));
  }

  get size(): number {
    return this.#counts.size;
  }

  /** Seconds left when `key` has reached `max`, else 0 (the primary answers workers with this). */
  waitFor(key: LimitKey, now = Date.now()): number {
    const e = this.#get(key.key, now);
    return e && e.n >= key.max ? this.#wait(e, now) : 0;
  }

  blocked(address: string, clientId: string | undefined, known: boolean): number {
    return this.waitFor(limitKeys(address, clientId, known, this.max).block);
  }

  /** Increments the counters; returns the wait (0 while every counter is within its budget). */
  count(keys: readonly LimitKey[], now = Date.now()): number {
    // Entries are (re)inserted when their window starts, so the Map's order is the order of `resetAt`:
    // expired entries and, when full, the oldest are dropped from the front — O(1) per insertion.
    for (const [k, e] of this.#counts) {
      if (e.resetAt > now && this.#counts.size < this.maxEntries) break;
      this.#counts.delete(k);
    }
    let wait = 0;
    for (const { key, max } of keys) {
      let e = this.#get(key, now);
      if (e) e.n++;
      else {
        this.#counts.delete(key); // an expired entry: re-inserted at the end
        this.#counts.set(key, (e = { n: 1, resetAt: now + this.windowSeconds * 1000 }));
      }
      if (e.n > max) wait = Math.max(wait, this.#wait(e, now));
    }
    return wait;
  }

  fail(address: string, clientId: string | undefined, known: boolean): number {
    return this.count(limitKeys(address, clientId, known, this.max).count);
  }
}

/** Whether a `trustProxy` value names address ranges (CIDRs wider than one address) rather than single proxies. */
export function trustProxyRanges(trustProxy: string | undefined): string[] {
  if (!trustProxy) return [];
  return trustProxy
    .split(',')
    .map((s) => s.trim())
    .filter((s) => {
      if (s === 'loopback' || s === 'linklocal' || s === 'uniquelocal') return true;
      const m = /\/(\d+)$/.exec(s);
      if (!m) return false;
      const bits = Number(m[1]);
      return s.includes(':') ? bits < 128 : bits < 32;
    });
}
