import type { Store } from '../store/store.js';
import type { OpaqueTokenRecord } from '../store/types.js';

/**
 * Group commit for opaque tokens: requests arriving while a write is in flight are inserted together
 * in the next single multi-row INSERT. Each request is answered only after its row is committed, so
 * nothing acknowledged is lost, and throughput stays close to JWT issuance (one fsync per batch).
 */
export class OpaqueWriter {
  #queue: { rec: OpaqueTokenRecord; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #flushing = false;

  constructor(private readonly store: Store, private readonly maxBatch = 500) {}

  write(rec: OpaqueTokenRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ rec, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.maxBatch);
        try {
          await this.store.insertOpaqueTokens(batch.map((b) => b.rec));
          for (const b of batch) b.resolve();
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
