/**
 * Group commit: concurrent requests that each need a durable write share one statement and one commit.
 * Each caller is answered only after the batch holding its item has committed, so nothing acknowledged
 * is lost; a failed commit rejects every caller of that batch.
 *
 * A batch is written from a setImmediate callback, i.e. after the event loop has run its I/O phase:
 * every request that arrived meanwhile has reached `submit()` by then. This matters for SQLite, whose
 * driver is synchronous: without the yield each commit blocks the loop, no request can join the batch
 * while it runs, and every item pays its own fsync (measured for opaque tokens: 0.1× JWT throughput).
 * With an asynchronous driver (PostgreSQL) requests also join while the previous batch is in flight.
 */
export class GroupCommit<T, R> {
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  /** A flush is scheduled or running; new items join the next batch. */
  #pending = false;

  /** `commit` gets a batch and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 500,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#pending) {
        this.#pending = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  #flush = async (): Promise<void> => {
    const batch = this.#queue.splice(0, this.maxBatch);
    try {
      const results = await this.commit(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]!));
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      if (this.#queue.length > 0) setImmediate(() => void this.#flush());
      else this.#pending = false;
    }
  };
}
