import type { Store } from './store.js';
import type { ClientRecord, ClientSecretRecord } from './types.js';

/** A client as the hot path needs it: the record plus precomputed sets. */
export interface CachedClient {
  readonly record: ClientRecord;
  readonly secrets: readonly ClientSecretRecord[];
  readonly allowedScopes: ReadonlySet<string>;
  readonly allowsClientCredentials: boolean;
}

function prepare(record: ClientRecord, secrets: ClientSecretRecord[]): CachedClient {
  return {
    record,
    secrets,
    allowedScopes: new Set(record.scope.split(' ').filter(Boolean)),
    allowsClientCredentials: record.grant_types.includes('client_credentials'),
  };
}

/** How long an id the store did not know is answered "unknown" without asking the store again. */
export const NEGATIVE_TTL_MS = 500;
/** Most ids remembered as unknown (each at most 128 characters: callers check the syntax first). */
const MAX_NEGATIVE = 10_000;

const federatedKey = (issuer: string, subject: string) => JSON.stringify([issuer, subject]);

/** Remembers `id` for NEGATIVE_TTL_MS in a bounded map whose insertion order is expiry order. */
function remember(map: Map<string, number>, id: string): void {
  const now = Date.now();
  // Drop expired entries (and, when full, the oldest) from the front.
  for (const [k, until] of map) {
    if (until > now && map.size < MAX_NEGATIVE) break;
    map.delete(k);
  }
  map.delete(id);
  map.set(id, now + NEGATIVE_TTL_MS);
}

/**
 * Every client, in memory (SPEC §5: the token hot path does not wait on the database for a known
 * client). Unknown ids are answered from memory too, so unknown-client and wrong-secret responses take
 * the same path and time. Kept fresh by the ChangeFeed (refresh by id within the poll interval).
 */
export class ClientCache {
  #clients = new Map<string, CachedClient>();
  /** federated_jwt clients by `JSON.stringify([issuer name, subject])` (SPEC §9: one client per pair). */
  #federated = new Map<string, CachedClient>();
  /** Ids the store did not know, until when (read-through negative cache). */
  #unknown = new Map<string, number>();
  /** Store lookups under way, one per id (single flight). */
  #inflight = new Map<string, Promise<CachedClient | undefined>>();
  /** Known ids whose credentials failed, until when: the mirror of {@link #unknown} for {@link equalizeFailure}. */
  #failed = new Map<string, number>();
  /** Store lookups made by {@link lookup} (for tests and metrics). */
  readThroughs = 0;
  loadedAt = 0;

  constructor(private readonly store: Store) {}

  async loadAll(): Promise<void> {
    const [clients, secrets] = await Promise.all([this.store.allClients(), this.store.allSecrets()]);
    const byClient = new Map<string, ClientSecretRecord[]>();
    for (const s of secrets) {
      let l = byClient.get(s.client_id);
      if (!l) byClient.set(s.client_id, (l = []));
      l.push(s);
    }
    const next = new Map<string, CachedClient>();
    for (const c of clients) next.set(c.client_id, prepare(c, byClient.get(c.client_id) ?? []));
    this.#clients = next;
    const fed = new Map<string, CachedClient>();
    for (const c of next.values()) if (c.record.federated_identity) fed.set(federatedKey(c.record.federated_identity.issuer, c.record.federated_identity.subject), c);
    this.#federated = fed;
    this.loadedAt = Date.now();
  }

  /** Re-reads one client (after a change event). */
  async refresh(clientId: string): Promise<void> {
    const [record, secrets] = await Promise.all([this.store.getClient(clientId), this.store.listSecrets(clientId)]);
    const old = this.#clients.get(clientId)?.record.federated_identity;
    if (old) {
      const k = federatedKey(old.issuer, old.subject);
      if (this.#federated.get(k)?.record.client_id === clientId) this.#federated.delete(k);
    }
    if (record) {
      this.#unknown.delete(clientId);
      const c = prepare(record, secrets);
      this.#clients.set(clientId, c);
      if (record.federated_identity) this.#federated.set(federatedKey(record.federated_identity.issuer, record.federated_identity.subject), c);
    } else this.#clients.delete(clientId);
  }

  /** The federated client mapped to (trusted issuer name, subject), if any. */
  getFederated(issuerName: string, subject: string): CachedClient | undefined {
    return this.#federated.get(federatedKey(issuerName, subject));
  }

  /**
   * Read-through for ids this node has not seen yet (issue #14 item 5): a client created through another
   * worker or node is usable at once, before the change feed brings it. One store lookup per id at a
   * time (single flight); an id the store does not know is remembered as unknown for
   * {@link NEGATIVE_TTL_MS}. A store error answers "unknown" (cached clients keep working in an outage).
   * Callers check the id's syntax and its failure budget first: each miss costs one store query.
   */
  async lookup(clientId: string): Promise<CachedClient | undefined> {
    const hit = this.#clients.get(clientId);
    if (hit) return hit;
    const now = Date.now();
    const until = this.#unknown.get(clientId);
    if (until !== undefined) {
      if (until > now) return undefined;
      this.#unknown.delete(clientId);
    }
    let p = this.#inflight.get(clientId);
    if (!p) {
      this.readThroughs++;
      p = this.refresh(clientId)
        .then(() => this.#clients.get(clientId))
        .then(
          (c) => {
            if (!c) this.#rememberUnknown(clientId);
            return c;
          },
          () => undefined,
        )
        .finally(() => this.#inflight.delete(clientId));
      this.#inflight.set(clientId, p);
    }
    return p;
  }

  #rememberUnknown(clientId: string): void {
    remember(this.#unknown, clientId);
  }

  /**
   * A known client's credentials failed: do the store work an unknown id costs in {@link lookup} (one
   * read of the client and its secrets, at most once per id per {@link NEGATIVE_TTL_MS}), so a failed
   * authentication takes the same time whether the id exists or not (SPEC §3: indistinguishable in timing).
   * Reads and discards; never changes the cache; a store error is ignored (as in `lookup`).
   */
  async equalizeFailure(clientId: string): Promise<void> {
    const until = this.#failed.get(clientId);
    if (until !== undefined && until > Date.now()) return;
    remember(this.#failed, clientId);
    await Promise.all([this.store.getClient(clientId), this.store.listSecrets(clientId)]).catch(() => undefined);
  }

  get(clientId: string): CachedClient | undefined {
    return this.#clients.get(clientId);
  }

  get size(): number {
    return this.#clients.size;
  }
}
