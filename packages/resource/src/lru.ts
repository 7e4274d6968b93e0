/**
 * Bounded cache with per-entry expiry, in the two-generation style of
 * node-oidc-provider's `lib/helpers/lru.js` / quick-lru: a hit in the current
 * generation is a single `Map#get` (no re-insertion on the hot path); when the
 * current generation fills up it becomes the old one and the previous old one
 * is dropped. Recently used entries are promoted, so it evicts roughly the least
 * recently used half. Never holds more than `maxEntries` entries.
 */
export class ExpiringLru<V> {
  #current = new Map<string, Entry<V>>();
  #old = new Map<string, Entry<V>>();
  readonly #generationSize: number;

  constructor(maxEntries: number) {
    this.#generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  /** Returns the value if present and `now < expiresAt` (both in ms). */
  get(key: string, now: number): V | undefined {
    let entry = this.#current.get(key);
    if (entry === undefined) {
      entry = this.#old.get(key);
      if (entry === undefined) return undefined;
      this.#old.delete(key);
      if (entry.expiresAt > now) this.#insert(key, entry);
    }
    if (entry.expiresAt <= now) {
      this.#current.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    const entry = { value, expiresAt };
    if (this.#current.has(key)) this.#current.set(key, entry);
    else {
      this.#old.delete(key);
      this.#insert(key, entry);
    }
  }

  delete(key: string): void {
    this.#current.delete(key);
    this.#old.delete(key);
  }

  clear(): void {
    this.#current.clear();
    this.#old.clear();
  }

  get size(): number {
    return this.#current.size + this.#old.size;
  }

  #insert(key: string, entry: Entry<V>): void {
    if (this.#current.size >= this.#generationSize) {
      this.#old = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, entry);
  }
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}
