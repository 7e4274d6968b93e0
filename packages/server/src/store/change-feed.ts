import type { Store } from './store.js';
import type { ChangeEvent } from './types.js';

type Handler = (events: ChangeEvent[]) => Promise<void> | void;

/** Events read per poll; a full page means more may be waiting (the poll then does not count as synced). */
const PAGE = 1000;

/**
 * Propagates changes made by any process (CLI, admin API on another node) to this node's caches.
 * Every mutation appends a row to the `changes` table in the same transaction; each node polls
 * `seq > last` every `intervalMs` (default 250 ms), which works the same for several processes on one
 * SQLite file and for many nodes on PostgreSQL, and bounds the propagation delay well under the 1 s
 * SPEC §4 promises. PostgreSQL sequences can commit out of order, so the poll re-reads a window of
 * recent sequence numbers and skips the ones already applied. A failed poll (store down) keeps the
 * caches as they are and retries on the next tick.
 */
export class ChangeFeed {
  #last = 0;
  #seen = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #handlers: Handler[] = [];
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  lastPollOk = true;
  /** When the store last answered a poll (epoch ms). */
  lastOkAt = Date.now();
  /**
   * Every change committed before this time (epoch ms) has been read and handed to every handler: the start of the
   * last poll that succeeded all the way through (0 until `start()`). Caches that must not outlive a change made
   * elsewhere by more than a bound (tokens/opaque-cache.ts) trust themselves only while `now - syncedAt` is within it.
   */
  syncedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  on(handler: Handler): void {
    this.#handlers.push(handler);
  }

  async start(): Promise<void> {
    const started = Date.now();
    this.#last = await this.store.latestChangeSeq();
    this.syncedAt = started;
    this.#timer = setInterval(() => void this.poll(), this.intervalMs);
    this.#timer.unref();
  }

  /**
   * A poll that starts after this call, so it sees every change committed before the call. While one
   * runs (it may have read before that commit), callers share a single follow-up poll queued behind it.
   */
  poll(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#poll().finally(() => (this.#running = undefined));
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.poll();
    });
    return this.#queued;
  }

  async #poll(): Promise<void> {
    const window = this.store.dialect === 'postgres' ? 200 : 0;
    const started = Date.now();
    let events: ChangeEvent[];
    try {
      events = await this.store.changesSince(Math.max(0, this.#last - window), PAGE);
      this.lastPollOk = true;
      this.lastOkAt = Date.now();
    } catch (e) {
      this.lastPollOk = false;
      this.onError(e);
      return;
    }
    const fresh = events.filter((e) => !this.#seen.has(e.seq));
    // A full page may have left changes committed before `started` unread: synced only when the page was not full.
    const complete = events.length < PAGE;
    if (fresh.length === 0) {
      if (complete) this.syncedAt = started;
      return;
    }
    for (const e of fresh) {
      this.#seen.add(e.seq);
      if (e.seq > this.#last) this.#last = e.seq;
    }
    if (this.#seen.size > 5000) {
      const floor = this.#last - window;
      for (const s of this.#seen) if (s < floor) this.#seen.delete(s);
    }
    for (const h of this.#handlers) {
      try {
        await h(fresh);
      } catch (e) {
        // Not applied: forget these events so the next poll delivers them again.
        for (const ev of fresh) this.#seen.delete(ev.seq);
        this.#last = Math.min(this.#last, Math.min(...fresh.map((ev) => ev.seq)) - 1);
        this.onError(e);
        return;
      }
    }
    if (complete) this.syncedAt = started;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
