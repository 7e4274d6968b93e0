/**
 * Failed-authentication limits (RFC 6749 §2.3.1 / RFC 6819 §5.1.4.2.3: protect the token endpoint
 * against brute force). Counted per address and per (address, client_id), never per client_id alone:
 * a flood of wrong secrets from one place must not lock the real client out from another.
 * Fixed windows, in memory; the Redis-backed variant shares counters between nodes.
 */
export interface FailureLimiter {
  /** Seconds to wait when blocked, else 0. */
  blocked(address: string, clientId: string | undefined): Promise<number> | number;
  fail(address: string, clientId: string | undefined): Promise<void> | void;
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

  blocked(address: string, clientId: string | undefined): number {
    const now = Date.now();
    for (const key of this.#keys(address, clientId)) {
      const e = this.#get(key, now);
      if (e && e.n >= this.max) return Math.max(1, Math.ceil((e.resetAt - now) / 1000));
    }
    return 0;
  }

  fail(address: string, clientId: string | undefined): void {
    const now = Date.now();
    if (now > this.#sweepAt) {
      for (const [k, e] of this.#counts) if (e.resetAt <= now) this.#counts.delete(k);
      this.#sweepAt = now + this.windowSeconds * 1000;
    }
    for (const key of this.#keys(address, clientId)) {
      const e = this.#get(key, now);
      if (e) e.n++;
      else this.#counts.set(key, { n: 1, resetAt: now + this.windowSeconds * 1000 });
    }
  }

  #keys(address: string, clientId: string | undefined): string[] {
    // The per-address budget is larger: many clients may share one NAT address.
    return clientId ? [`a:${address}`, `c:${address}|${clientId}`] : [`a:${address}`];
  }
}
