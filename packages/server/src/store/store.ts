import type {
  AuditRecord,
  ChangeEvent,
  ClientRecord,
  ClientRegistrationRecord,
  ClientSecretRecord,
  OpaqueTokenRecord,
  RegistrationTokenRecord,
  SigningKeyRecord,
  TrustedIssuerRecord,
} from './types.js';

/** A write that would break a unique rule (client id, federated identity, trusted issuer name/URL). */
export class DuplicateError extends Error {
  constructor(readonly what: string) {
    super(`duplicate ${what}`);
    this.name = 'DuplicateError';
  }
}

export interface ListClientsQuery {
  limit?: number;
  offset?: number;
  /** Substring of client_id or client_name. */
  search?: string;
}

export interface AuditQuery {
  since?: number;
  target?: string;
  limit?: number;
}

/**
 * The one storage interface. Adapters: ./sqlite (better-sqlite3) and ./postgres (pg), both over kysely,
 * sharing ./migrations. Every mutation of clients, secrets and keys also appends to the change feed
 * in the same transaction, which every node polls (ChangeFeed in ./cache.ts).
 * Methods throw StoreUnavailableError when the database cannot be reached.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

  // clients
  insertClient(client: ClientRecord, secret?: ClientSecretRecord): Promise<void>;
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  listClients(q?: ListClientsQuery): Promise<{ clients: ClientRecord[]; total: number }>;
  allClients(): Promise<ClientRecord[]>;
  updateClient(clientId: string, patch: Partial<Omit<ClientRecord, 'client_id' | 'created_at'>>): Promise<ClientRecord | undefined>;
  deleteClient(clientId: string): Promise<boolean>;

  // secrets
  listSecrets(clientId: string): Promise<ClientSecretRecord[]>;
  allSecrets(): Promise<ClientSecretRecord[]>;
  /**
   * Adds `secret` (with its own `secret_sealed`, if any) and sets expires_at = `oldExpiresAt` on every
   * other secret of the client that expires later (or never). `secretSealed`, when given, also replaces
   * the legacy `clients.secret_sealed` (undefined leaves it alone).
   */
  rotateSecret(clientId: string, secret: ClientSecretRecord, oldExpiresAt: number, secretSealed?: string | null): Promise<void>;
  deleteExpiredSecrets(now: number): Promise<number>;

  // signing keys
  listKeys(): Promise<SigningKeyRecord[]>;
  insertKey(key: SigningKeyRecord): Promise<void>;
  updateKey(kid: string, patch: Partial<Omit<SigningKeyRecord, 'kid'>>): Promise<void>;
  deleteKey(kid: string): Promise<void>;

  // change feed
  latestChangeSeq(): Promise<number>;
  changesSince(seq: number, limit?: number): Promise<ChangeEvent[]>;
  recordChange(kind: ChangeEvent['kind'], ref: string): Promise<void>;
  pruneChanges(olderThan: number): Promise<number>;

  // audit
  addAudit(rec: AuditRecord): Promise<void>;
  queryAudit(q?: AuditQuery): Promise<AuditRecord[]>;

  // opaque tokens (RFC 7662 reference tokens)
  insertOpaqueTokens(tokens: OpaqueTokenRecord[]): Promise<void>;
  /** By hash, expired or not (callers check `exp`). One prepared statement per adapter, no query building. */
  getOpaqueToken(tokenHash: string): Promise<OpaqueTokenRecord | undefined>;
  /** True when a token was deleted; then an `opaque_revocation` change (ref = the hash) is written in the same transaction. */
  deleteOpaqueToken(tokenHash: string): Promise<boolean>;
  deleteExpiredOpaqueTokens(nowSeconds: number): Promise<number>;

  // revoked JWTs (by jti, until exp)
  revokeJti(jti: string, clientId: string, exp: number): Promise<void>;
  isJtiRevoked(jti: string): Promise<boolean>;
  revokedJtisSince(afterSeconds: number): Promise<{ jti: string; exp: number }[]>;
  deleteExpiredRevocations(nowSeconds: number): Promise<number>;

  /**
   * Single-use values (client-assertion jti, DPoP proof jti): returns true when `key` was not seen
   * before and is now recorded until `exp` (seconds); false on replay. Atomic across nodes.
   */
  useOnce(key: string, exp: number): Promise<boolean>;
  /**
   * Batched useOnce: one statement for many keys; returns the keys that were newly recorded. On SQLite it commits
   * without an fsync (survives a process crash, not a power loss: docs/decisions.md); `useOnce` is always durable.
   */
  useOnceMany(entries: { key: string; exp: number }[]): Promise<Set<string>>;
  deleteExpiredUseOnce(nowSeconds: number): Promise<number>;

  // RFC 7591 initial access tokens
  insertRegistrationToken(rec: RegistrationTokenRecord): Promise<void>;
  getRegistrationToken(tokenHash: string): Promise<RegistrationTokenRecord | undefined>;
  deleteRegistrationToken(tokenHash: string): Promise<boolean>;
  /** Every initial access token (hashes and policy only), newest first. */
  listRegistrationTokens(): Promise<RegistrationTokenRecord[]>;
  /**
   * SPEC §7 quota: takes one registration from the token's `max_clients`, atomically (one conditional
   * UPDATE: concurrent registrations cannot exceed it). False when the token is unknown, expired,
   * legacy (no quota) or used up.
   */
  reserveRegistration(tokenHash: string, now: number): Promise<boolean>;
  /** Gives back a reservation whose registration then failed. */
  releaseRegistration(tokenHash: string): Promise<void>;

  // RFC 7592 client registrations (deleted with their client)
  insertClientRegistration(rec: ClientRegistrationRecord): Promise<void>;
  getClientRegistration(clientId: string): Promise<ClientRegistrationRecord | undefined>;
  /**
   * RFC 7592 §3 rotation: replaces the registration access token's hash only while it is still
   * `oldHash` (compare-and-set: of two concurrent updates with one token, one wins). False otherwise.
   */
  rotateRegistrationAccessToken(clientId: string, oldHash: string, newHash: string, issuedAt: number): Promise<boolean>;

  // trusted issuers (SPEC §9); each change is on the change feed (kind 'trusted_issuer', ref = name)
  /** Throws DuplicateError when the name or the issuer is taken. */
  insertTrustedIssuer(rec: TrustedIssuerRecord): Promise<void>;
  getTrustedIssuer(name: string): Promise<TrustedIssuerRecord | undefined>;
  listTrustedIssuers(): Promise<TrustedIssuerRecord[]>;
  /** Replaces the keys and rules of an existing issuer (same name, issuer, kind); false when there is none. */
  updateTrustedIssuer(rec: TrustedIssuerRecord): Promise<boolean>;
  deleteTrustedIssuer(name: string): Promise<boolean>;
  /** Clients whose federated_identity names this trusted issuer. */
  countFederatedClients(issuerName: string): Promise<number>;
}
