import { GroupCommit } from '../store/group-commit.js';
import type { Store } from '../store/store.js';
import type { OpaqueTokenRecord } from '../store/types.js';

/**
 * Opaque tokens are written by group commit (store/group-commit.ts): one multi-row INSERT and one
 * commit for all requests waiting at that moment; each is acknowledged only once its row is durable.
 */
export class OpaqueWriter {
  readonly #group: GroupCommit<OpaqueTokenRecord, undefined>;

  constructor(store: Store, maxBatch = 500) {
    this.#group = new GroupCommit(async (recs) => {
      await store.insertOpaqueTokens(recs);
      return recs.map(() => undefined);
    }, maxBatch);
  }

  async write(rec: OpaqueTokenRecord): Promise<void> {
    await this.#group.submit(rec);
  }
}
