import { TwoGenerationMap } from '@latchkey/jose-core';

/**
 * Bounded cache with per-entry expiry over `TwoGenerationMap` (the two-generation style of node-oidc-provider's
 * `lib/helpers/lru.js` / quick-lru): a hit in the current generation is a single `Map#get`; an entry used while in
 * the old generation is promoted, so it evicts roughly the least recently used half. Never holds more than
 * `maxEntries` entries.
 */
export class ExpiringLru<V> {
  readonly #map: TwoGenerationMap<string, Entry<V>>;

  constructor(maxEntries: number) {
    this.#map = new TwoGenerationMap(Math.max(1, Math.floor(maxEntries / 2)));
  }

  /** Returns the value if present and `now < expiresAt` (both in ms). */
  get(key: string, now: number): V | undefined {
    const entry = this.#map.touch(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#map.set(key, { value, expiresAt });
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}
