import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { authenticatedFetch } from './authenticated-fetch.js';
import { applyClientAuthentication, checkSigningKey, validateClientAuthentication, type ClientAuthentication } from './auth-methods.js';
import { fetchMetadata, isHttpUrl, type AuthorizationServerMetadata } from './discovery.js';
import { DPoPSigner, type DPoPKeyInput } from './dpop.js';
import { LatchkeyClientError, OAuthErrorResponse } from './errors.js';
import type { AccessToken, TokenClientEvent, TokenRequestOptions } from './token-types.js';
import {
  backoffDelay,
  errorFromResponse,
  parseRetryAfter,
  readJson,
  resolveRetry,
  sendOnce,
  sleep,
  type FetchLike,
  type HttpContext,
  type ResolvedRetry,
  type RetryOptions,
} from './http.js';

export type { AccessToken, TokenClientEvent, TokenRequestOptions } from './token-types.js';

/**
 * A cache shared by several processes (Redis, memcached, …), so a horizontally scaled service
 * fetches one token per key instead of one per instance. Values are opaque strings; `ttlSeconds`
 * is how long the value is useful. Protect the store as you protect the client secret: it holds
 * bearer tokens. Errors it throws are reported (`shared_cache_error`) and otherwise ignored.
 */
export interface SharedTokenCache {
  get(key: string): Promise<string | null | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<unknown>;
}

/** Options of {@link TokenClient}. Validated once, in the constructor. */
export interface TokenClientOptions {
  /** Issuer identifier: discovery (RFC 8414 / OpenID) starts here; also the `aud` of JWT client assertions. */
  issuer?: string;
  /** Token endpoint URL; skips discovery. Give `issuer` too when using JWT client authentication. */
  tokenEndpoint?: string;
  /** How the client authenticates (RFC 6749 §2.3, RFC 7523, RFC 8705). */
  auth: ClientAuthentication;
  /** Default scope for {@link TokenClient.getToken}. */
  scope?: string | readonly string[];
  /** Default resource indicator(s) (RFC 8707). */
  resource?: string | readonly string[];
  /** Extra token request parameters sent on every request (e.g. `{ audience: '…' }` for Auth0). */
  tokenParams?: Record<string, string>;
  /** DPoP (RFC 9449): `true` generates an ES256 key pair in memory; or pass your key pair / a {@link DPoPSigner}. */
  dpop?: boolean | DPoPKeyInput | DPoPSigner;
  /** Start refreshing this long before the token stops being served. Default 60 s, at most a quarter of the lifetime. */
  refreshAheadSeconds?: number;
  /** Random extra refresh lead, as a fraction of the refresh-ahead window (0..1), so a fleet spreads out. Default 0.5. */
  refreshJitter?: number;
  /** A token is never handed out within this margin of its expiry (network time, clock drift). Default 10 s, at most a fifth of the lifetime. */
  expiryMarginSeconds?: number;
  /** Lifetime assumed when the response has no `expires_in` and the token is not a JWT with `exp`. Default 300. */
  defaultExpiresInSeconds?: number;
  /** Retry policy for the token and discovery endpoints; `false` disables retries. */
  retry?: RetryOptions | false;
  /** Timeout of one HTTP attempt, ms. Default 10 000. */
  timeoutMs?: number;
  /** How long discovered metadata is reused, seconds. Default 3600. */
  discoveryCacheSeconds?: number;
  /** The `fetch` to use for the authorization server (default: global `fetch`). */
  fetch?: FetchLike;
  /** An undici `Dispatcher` (e.g. an `Agent` with a client certificate, for mTLS) passed to `fetch` for AS requests. */
  dispatcher?: unknown;
  /** Use `mtls_endpoint_aliases` from metadata (RFC 8705 §5). Default: on for the tls_* auth methods. */
  useMtlsEndpointAliases?: boolean;
  /** Most (scope, resource) combinations cached at once; the oldest is dropped beyond it. Default 100. */
  maxCacheEntries?: number;
  /** Receives {@link TokenClientEvent}s. Exceptions thrown by it are swallowed. */
  onEvent?: (event: TokenClientEvent) => void;
  /** Cross-process token cache (see {@link SharedTokenCache}). Not allowed with DPoP: tokens are bound to this process's key. */
  sharedCache?: SharedTokenCache;
}

interface CacheEntry {
  readonly key: string;
  readonly scope: string | undefined;
  readonly resources: readonly string[];
  token: AccessToken | undefined;
  /** The same settled promise handed to every hot-path caller (no allocation per call). */
  resolved: Promise<AccessToken> | undefined;
  refreshAt: number;
  usableUntil: number;
  inflight: Promise<AccessToken> | undefined;
  failures: number;
  lastError: LatchkeyClientError | undefined;
  blockedUntil: number;
  /** The last token an API rejected (see invalidate): never taken back from the shared cache. */
  rejected: string | undefined;
}

const NEVER_RETRY = new Set(['invalid_client', 'invalid_scope', 'invalid_request', 'unauthorized_client', 'invalid_grant', 'unsupported_grant_type', 'invalid_target']);

function rawPart(value: string | readonly string[] | undefined): string {
  if (value === undefined) return 'u';
  if (typeof value === 'string') return `s${value.length}:${value}`;
  let out = 'a';
  for (const v of value) out += `${String(v).length}:${v}`;
  return out;
}

function normaliseScope(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const parts = typeof scope === 'string' ? scope.split(' ') : scope.flatMap((s) => String(s).split(' '));
  // RFC 6749 §3.3: scope is a set of space-delimited, case-sensitive strings; order does not matter.
  const unique = [...new Set(parts.filter((p) => p.length > 0))].sort();
  for (const token of unique) {
    // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(token)) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'scope contains a character RFC 6749 §3.3 does not allow');
    }
  }
  return unique.length === 0 ? undefined : unique.join(' ');
}

function normaliseResources(resource: string | readonly string[] | undefined): string[] {
  if (resource === undefined) return [];
  const list = typeof resource === 'string' ? [resource] : [...resource];
  for (const r of list) {
    // RFC 8707 §2: "The value of the resource parameter MUST be an absolute URI ... MUST NOT include a fragment component."
    let ok = false;
    try {
      const u = new URL(r);
      ok = u.hash === '' && !r.includes('#');
    } catch {
      ok = false;
    }
    if (!ok) throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'resource must be an absolute URI without a fragment (RFC 8707 §2)');
  }
  return [...new Set(list)].sort();
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = true): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} finite number`);
  }
  return value;
}

/**
 * Gets, caches and refreshes OAuth 2.0 client-credentials access tokens (RFC 6749 §4.4) from any
 * authorization server that publishes RFC 8414 or OpenID Connect discovery metadata.
 *
 * - One cached token per (scope set, resource set); concurrent callers share one request (single-flight).
 * - Refreshes ahead of expiry in the background, with jitter; a failing refresh keeps serving the
 *   still-valid token; a token is never handed out after `expiresAt - expiryMarginSeconds`.
 * - Retries network errors, 429, 500, 502, 503, 504 with exponential backoff and full jitter,
 *   honouring `Retry-After`; never retries `invalid_client`, `invalid_scope` and other client errors.
 * - DPoP (RFC 9449) proofs on token requests, with `use_dpop_nonce` handling.
 *
 * Does not validate the access token (it is opaque to the client, RFC 6749 §1.4), does not persist
 * tokens, and trusts the server's `expires_in`.
 *
 * @example
 * ```ts
 * const client = new TokenClient({
 *   issuer: 'https://auth.example.com',
 *   auth: { method: 'client_secret_basic', clientId: 'orders', clientSecret: process.env.CLIENT_SECRET! },
 *   scope: 'inventory:read',
 * });
 * const { accessToken } = await client.getToken();
 * const res = await client.fetch('https://inventory.example.com/items');
 * ```
 */
export class TokenClient {
  readonly issuer: string | undefined;
  private readonly auth: ClientAuthentication;
  private readonly http: HttpContext;
  private readonly retry: ResolvedRetry;
  private readonly defaultScope: string | undefined;
  private readonly defaultResources: readonly string[];
  private readonly defaultKey: string;
  private readonly tokenParams: ReadonlyArray<[string, string]>;
  private readonly refreshAheadMs: number;
  private readonly refreshJitter: number;
  private readonly expiryMarginMs: number;
  private readonly defaultExpiresIn: number;
  private readonly discoveryCacheMs: number;
  private readonly useMtls: boolean;
  private readonly maxEntries: number;
  private readonly onEvent: ((event: TokenClientEvent) => void) | undefined;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly keyMemo = new Map<string, string>();
  private readonly staticTokenEndpoint: string | undefined;
  private readonly dpopEnabled: boolean;
  private readonly sharedCache: SharedTokenCache | undefined;
  private readonly sharedKeyPrefix: string;
  private dpopSigner: Promise<DPoPSigner> | undefined;
  private metadataValue: AuthorizationServerMetadata | undefined;
  private metadataFetchedAt = 0;
  private metadataInflight: Promise<AuthorizationServerMetadata> | undefined;

  constructor(options: TokenClientOptions) {
    if (!options || typeof options !== 'object') throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'options are required');
    const { issuer, tokenEndpoint, auth } = options;
    if (issuer === undefined && tokenEndpoint === undefined) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'issuer or tokenEndpoint is required');
    }
    if (issuer !== undefined && !isHttpUrl(issuer)) throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'issuer must be an http(s) URL');
    if (tokenEndpoint !== undefined && !isHttpUrl(tokenEndpoint)) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'tokenEndpoint must be an http(s) URL');
    }
    validateClientAuthentication(auth);
    if ((auth.method === 'client_secret_jwt' || auth.method === 'private_key_jwt') && issuer === undefined) {
      // The assertion audience must be the issuer identifier (draft-ietf-oauth-rfc7523bis).
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `issuer: required for ${auth.method} (the assertion audience)`);
    }
    this.issuer = issuer;
    this.auth = auth;
    this.staticTokenEndpoint = tokenEndpoint;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'no fetch implementation available');
    this.http = {
      fetch: fetchImpl,
      dispatcher: options.dispatcher,
      timeoutMs: positive('timeoutMs', options.timeoutMs, 10_000, false),
    };
    this.retry = resolveRetry(options.retry);
    this.defaultScope = normaliseScope(options.scope);
    this.defaultResources = normaliseResources(options.resource);
    this.defaultKey = `${this.defaultScope ?? ''}\n${this.defaultResources.join(' ')}`;
    this.tokenParams = Object.entries(options.tokenParams ?? {}).map(([k, v]) => {
      if (typeof v !== 'string') throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `tokenParams.${k} must be a string`);
      if (['grant_type', 'scope', 'resource', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type'].includes(k)) {
        throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `tokenParams may not set ${k}`);
      }
      return [k, v] as [string, string];
    });
    this.refreshAheadMs = positive('refreshAheadSeconds', options.refreshAheadSeconds, 60) * 1000;
    this.refreshJitter = positive('refreshJitter', options.refreshJitter, 0.5);
    if (this.refreshJitter > 1) throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'refreshJitter must be between 0 and 1');
    this.expiryMarginMs = positive('expiryMarginSeconds', options.expiryMarginSeconds, 10) * 1000;
    this.defaultExpiresIn = positive('defaultExpiresInSeconds', options.defaultExpiresInSeconds, 300, false);
    this.discoveryCacheMs = positive('discoveryCacheSeconds', options.discoveryCacheSeconds, 3600) * 1000;
    this.useMtls = options.useMtlsEndpointAliases ?? (auth.method === 'tls_client_auth' || auth.method === 'self_signed_tls_client_auth');
    this.maxEntries = positive('maxCacheEntries', options.maxCacheEntries, 100, false);
    this.onEvent = options.onEvent;
    if (options.sharedCache !== undefined) {
      const sc = options.sharedCache;
      if (!sc || typeof sc.get !== 'function' || typeof sc.set !== 'function') {
        throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'sharedCache must have get(key) and set(key, value, ttlSeconds)');
      }
      if (options.dpop !== undefined && options.dpop !== false) {
        throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'sharedCache cannot be used with DPoP: DPoP tokens are bound to this process\'s key');
      }
    }
    this.sharedCache = options.sharedCache;
    // Shared keys name the server, the client and the method, so two clients never share a token.
    this.sharedKeyPrefix = `latchkey-client:${createHash('sha256')
      .update(JSON.stringify([issuer ?? '', tokenEndpoint ?? '', auth.method, auth.clientId, options.tokenParams ?? {}]))
      .digest('base64url')
      .slice(0, 22)}:`;
    const dpop = options.dpop;
    if (dpop instanceof DPoPSigner) this.dpopSigner = Promise.resolve(dpop);
    else if (dpop === true) this.dpopSigner = undefined; // generated lazily on first use
    else if (dpop && typeof dpop === 'object') {
      checkSigningKey(dpop.privateKey, dpop.alg, 'dpop.privateKey', 'dpop.alg');
      this.dpopSigner = DPoPSigner.fromKey(dpop);
      this.dpopSigner.catch(() => {}); // reported on first use
    } else if (dpop !== undefined && dpop !== false) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'dpop: must be a boolean, a key pair or a DPoPSigner');
    }
    this.dpopEnabled = dpop !== undefined && dpop !== false;
  }

  /**
   * Returns a valid access token for the (scope, resource) combination, from cache when possible.
   * The hot path (fresh token cached) makes no allocation and no I/O.
   *
   * @throws {@link LatchkeyClientError} / {@link OAuthErrorResponse} (code `ERR_OAUTH_ERROR_RESPONSE`, `error` = RFC 6749 code).
   */
  getToken(options?: TokenRequestOptions): Promise<AccessToken> {
    let key: string;
    try {
      key = options === undefined ? this.defaultKey : this.keyFor(options);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err))); // keyFor throws LatchkeyClientError
    }
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.resolved !== undefined && options?.forceRefresh !== true) {
      const now = Date.now();
      if (now < entry.refreshAt) return entry.resolved;
      if (now < entry.usableUntil) {
        this.refreshInBackground(entry, now);
        return entry.resolved;
      }
    }
    return this.slowPath(key, entry, options);
  }

  /**
   * Drops a cached token that a resource server rejected (e.g. `401 invalid_token`), so the next
   * {@link getToken} fetches a new one. A no-op if the cache already holds a different token.
   */
  invalidate(accessToken: string): void {
    for (const entry of this.entries.values()) {
      if (entry.token !== undefined && entry.token.accessToken === accessToken) {
        entry.rejected = accessToken;
        entry.token = undefined;
        entry.resolved = undefined;
        entry.refreshAt = 0;
        entry.usableUntil = 0;
      }
    }
  }

  /** Forgets every cached token (in-flight requests still complete). */
  clear(): void {
    this.entries.clear();
    this.keyMemo.clear();
  }

  /** The authorization server metadata (RFC 8414), discovered and cached. */
  metadata(): Promise<AuthorizationServerMetadata> {
    if (this.staticTokenEndpoint !== undefined) {
      return Promise.resolve({ issuer: this.issuer ?? '', token_endpoint: this.staticTokenEndpoint });
    }
    const now = Date.now();
    if (this.metadataValue !== undefined && now - this.metadataFetchedAt < this.discoveryCacheMs) {
      return Promise.resolve(this.metadataValue);
    }
    if (this.metadataInflight === undefined) {
      const started = now;
      const issuer = this.issuer!;
      this.metadataInflight = this.withRetry('discovery', () => fetchMetadata(this.http, issuer)).then(
        (m) => {
          this.metadataInflight = undefined;
          this.metadataValue = m;
          this.metadataFetchedAt = Date.now();
          this.emit({ type: 'discovery', issuer, durationMs: Date.now() - started });
          return m;
        },
        (err: unknown) => {
          this.metadataInflight = undefined;
          throw err;
        },
      );
    }
    const inflight = this.metadataInflight;
    if (this.metadataValue !== undefined) {
      // Stale metadata keeps working while it is re-fetched; a failed re-fetch is retried next time.
      inflight.catch(() => {});
      return Promise.resolve(this.metadataValue);
    }
    return inflight;
  }

  /**
   * The DPoP signer (RFC 9449), created on first use; `undefined` when DPoP is off.
   * Its `jkt` is the thumbprint servers bind tokens to.
   */
  async dpop(): Promise<DPoPSigner | undefined> {
    if (!this.dpopEnabled) return undefined;
    if (this.dpopSigner === undefined) this.dpopSigner = DPoPSigner.generate('ES256');
    return this.dpopSigner;
  }

  /**
   * Headers that authorize one API request: `Authorization: Bearer <token>` (RFC 6750 §2.1), or
   * `Authorization: DPoP <token>` plus a `DPoP` proof bound to `method` and `url` (RFC 9449 §7.1).
   * For HTTP clients other than `fetch`; prefer {@link TokenClient.fetch}, which also handles 401s.
   */
  async authorizationHeaders(
    method: string,
    url: string | URL,
    options?: TokenRequestOptions,
  ): Promise<{ authorization: string; dpop?: string }> {
    const token = await this.getToken(options);
    return this.headersFor(token, method, url);
  }

  /** @internal */
  async headersFor(token: AccessToken, method: string, url: string | URL): Promise<{ authorization: string; dpop?: string }> {
    if (token.tokenType === 'DPoP') {
      const signer = await this.dpop();
      if (signer === undefined) throw new LatchkeyClientError('ERR_INVALID_RESPONSE', 'DPoP token without a DPoP key');
      return { authorization: `DPoP ${token.accessToken}`, dpop: await signer.proof(method, url, token.accessToken) };
    }
    return { authorization: `Bearer ${token.accessToken}` };
  }

  /**
   * `fetch` with authorization: adds the token (and DPoP proof), and on `401` with
   * `error="invalid_token"` (RFC 6750 §3.1) drops the token, gets a new one and retries once; on
   * `401` with `error="use_dpop_nonce"` (RFC 9449 §9) retries once with the server's nonce.
   * Request bodies that are streams cannot be replayed, so those requests are not retried.
   * Does not follow redirects differently from `fetch`, and does not retry other failures.
   */
  async fetch(input: string | URL | Request, init?: RequestInit, options?: TokenRequestOptions): Promise<Response> {
    return authenticatedFetch(this, input, init, options);
  }

  // ---------------------------------------------------------------------------------------------

  private keyFor(options: TokenRequestOptions): string {
    if (options.scope === undefined && options.resource === undefined) return this.defaultKey;
    // Length-prefixed, so no two different inputs (valid or not) share a memo entry.
    const raw = `${rawPart(options.scope)}|${rawPart(options.resource)}`;
    let key = this.keyMemo.get(raw);
    if (key === undefined) {
      const scope = options.scope === undefined ? this.defaultScope : normaliseScope(options.scope);
      const resources = options.resource === undefined ? this.defaultResources : normaliseResources(options.resource);
      key = `${scope ?? ''}\n${resources.join(' ')}`;
      if (this.keyMemo.size >= 1000) this.keyMemo.clear();
      this.keyMemo.set(raw, key);
    }
    return key;
  }

  private entryFor(key: string): CacheEntry {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const newline = key.indexOf('\n');
      const scope = key.slice(0, newline);
      const resources = key.slice(newline + 1);
      entry = {
        key,
        scope: scope === '' ? undefined : scope,
        resources: resources === '' ? [] : resources.split(' '),
        token: undefined,
        resolved: undefined,
        refreshAt: 0,
        usableUntil: 0,
        inflight: undefined,
        failures: 0,
        lastError: undefined,
        blockedUntil: 0,
        rejected: undefined,
      };
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, entry);
    }
    return entry;
  }

  private slowPath(key: string, existing: CacheEntry | undefined, options: TokenRequestOptions | undefined): Promise<AccessToken> {
    const entry = existing ?? this.entryFor(key);
    let pending: Promise<AccessToken>;
    if (entry.inflight !== undefined) {
      pending = entry.inflight;
    } else if (entry.lastError !== undefined && Date.now() < entry.blockedUntil) {
      // A request for this key just failed: fail fast instead of adding to a retry storm.
      return Promise.reject(entry.lastError);
    } else {
      pending = this.startFetch(entry, false);
    }
    const signal = options?.signal;
    return signal === undefined ? pending : abortable(pending, signal);
  }

  private refreshInBackground(entry: CacheEntry, now: number): void {
    if (entry.inflight !== undefined || now < entry.blockedUntil) return;
    this.startFetch(entry, true).catch(() => {
      // reported through onEvent('refresh_failed'); the cached token is still served
    });
  }

  private startFetch(entry: CacheEntry, background: boolean): Promise<AccessToken> {
    const started = Date.now();
    const promise = this.obtain(entry, background).then(
      (token) => {
        entry.inflight = undefined;
        this.store(entry, token);
        if (!fromSharedCache.has(token)) this.emit({
          type: 'token_fetched',
          cacheKey: entry.key,
          background,
          expiresInSeconds: Math.round((token.expiresAt - Date.now()) / 1000),
          durationMs: Date.now() - started,
          tokenType: token.tokenType,
        });
        return token;
      },
      (cause: unknown) => {
        entry.inflight = undefined;
        const error =
          cause instanceof LatchkeyClientError
            ? cause
            : new LatchkeyClientError('ERR_NETWORK', 'token request failed unexpectedly', { cause });
        entry.failures += 1;
        entry.lastError = error;
        const now = Date.now();
        const cooldown =
          error.retryAfterSeconds !== undefined
            ? error.retryAfterSeconds * 1000
            : Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** Math.min(entry.failures - 1, 30)) * (0.5 + Math.random() * 0.5);
        entry.blockedUntil = now + cooldown;
        this.emit({
          type: 'refresh_failed',
          cacheKey: entry.key,
          background,
          error,
          servingCachedUntil: background && entry.token !== undefined && now < entry.usableUntil ? entry.usableUntil : undefined,
          nextAttemptAt: entry.blockedUntil,
        });
        throw error;
      },
    );
    entry.inflight = promise;
    return promise;
  }

  /** When a token stops being handed out, and when its refresh should start (with jitter). */
  private schedule(token: AccessToken): { usableUntil: number; refreshAt: number } {
    const sentAt = (token as InternalToken)[sentAtSymbol];
    const lifetime = Math.max(0, token.expiresAt - sentAt);
    // Long-lived tokens use the configured margins as they are; short-lived ones (seconds) get
    // proportional ones, so a token is still used for at least half of its life before renewal.
    const margin = Math.min(this.expiryMarginMs, lifetime * 0.2);
    const usableUntil = token.expiresAt - margin;
    const window = Math.min(this.refreshAheadMs, lifetime * 0.25);
    return { usableUntil, refreshAt: Math.max(sentAt, usableUntil - window - Math.random() * this.refreshJitter * window) };
  }

  private store(entry: CacheEntry, token: AccessToken): void {
    const { usableUntil, refreshAt } = this.schedule(token);
    entry.token = token;
    entry.resolved = Promise.resolve(token);
    entry.usableUntil = usableUntil;
    entry.refreshAt = refreshAt;
    entry.failures = 0;
    entry.lastError = undefined;
    entry.blockedUntil = 0;
    if (this.entries.get(entry.key) !== entry) {
      // evicted or cleared while in flight: re-insert so the result is not wasted
      this.entries.set(entry.key, entry);
    }
  }

  /** @internal */
  emit(event: TokenClientEvent): void {
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event);
    } catch {
      // a metrics hook must never break token acquisition
    }
  }

  private async withRetry<T>(endpoint: 'token' | 'discovery', attemptFn: () => Promise<T>, background = false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await attemptFn();
      } catch (err) {
        if (!(err instanceof LatchkeyClientError) || !err.retryable || attempt >= this.retry.maxRetries) throw err;
        let delay: number;
        if (err.retryAfterSeconds !== undefined) {
          // RFC 6585 §4 / RFC 9110 §10.2.3: wait as asked, but never block a caller longer than allowed.
          if (err.retryAfterSeconds > this.retry.maxRetryAfterSeconds) throw err;
          delay = err.retryAfterSeconds * 1000 + Math.floor(Math.random() * this.retry.baseDelayMs);
        } else {
          delay = backoffDelay(this.retry, attempt);
        }
        this.emit({ type: 'retry', endpoint, attempt: attempt + 1, delayMs: delay, code: err instanceof OAuthErrorResponse ? err.error : err.code, status: err.status });
        await sleep(delay, background);
      }
    }
  }

  /** A token from the shared cache when another instance already has a fresher one, else from the server. */
  private async obtain(entry: CacheEntry, background: boolean): Promise<AccessToken> {
    const shared = this.sharedCache;
    if (shared === undefined) return this.requestToken(entry.scope, entry.resources, background);
    const sharedKey = this.sharedKeyPrefix + entry.key;
    let cached: AccessToken | undefined;
    try {
      cached = deserialiseToken(await shared.get(sharedKey));
    } catch (error) {
      this.emit({ type: 'shared_cache_error', operation: 'get', error });
    }
    // Take it only if it is not the token we are replacing and it is not yet due for refresh here.
    if (cached !== undefined && cached.accessToken !== entry.token?.accessToken && cached.accessToken !== entry.rejected) {
      const { refreshAt } = this.schedule(cached);
      if (Date.now() < refreshAt) {
        this.emit({ type: 'shared_cache_hit', cacheKey: entry.key });
        fromSharedCache.add(cached);
        return cached;
      }
    }
    const token = await this.requestToken(entry.scope, entry.resources, background);
    const ttl = Math.floor((token.expiresAt - Date.now()) / 1000);
    if (ttl > 0) {
      shared.set(sharedKey, serialiseToken(token), ttl).then(undefined, (error: unknown) => this.emit({ type: 'shared_cache_error', operation: 'set', error }));
    }
    return token;
  }

  private async requestToken(scope: string | undefined, resources: readonly string[], background: boolean): Promise<AccessToken> {
    const metadata = await this.metadata();
    const endpoint = (this.useMtls ? metadata.mtls_endpoint_aliases?.token_endpoint : undefined) ?? metadata.token_endpoint;
    if (!isHttpUrl(endpoint)) throw new LatchkeyClientError('ERR_DISCOVERY', 'the token endpoint is not a valid URL');
    const origin = new URL(endpoint).origin;
    const audience = this.issuer ?? endpoint;
    const signer = await this.dpop();
    return this.withRetry('token', async () => {
      for (let nonceRetries = 0; ; nonceRetries++) {
        const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
        const body = new URLSearchParams();
        body.set('grant_type', 'client_credentials');
        if (scope !== undefined) body.set('scope', scope);
        // RFC 8707 §2: "Multiple "resource" parameters MAY be used to indicate that the requested token is intended to be used at multiple resources."
        for (const r of resources) body.append('resource', r);
        for (const [k, v] of this.tokenParams) body.set(k, v);
        // A fresh assertion (new jti) per attempt: servers treat jti as single-use (RFC 7523 §3 item 7).
        await applyClientAuthentication(this.auth, audience, headers, body);
        if (signer !== undefined) headers.set('dpop', await signer.proof('POST', endpoint));
        const sentAt = Date.now();
        const response = await sendOnce(this.http, endpoint, { method: 'POST', headers, body: body.toString() });
        const json = await readJson(response, endpoint);
        if (signer !== undefined) signer.rememberNonce(origin, response);
        if (response.status === 200) return parseTokenResponse(json, sentAt, scope, signer !== undefined, this.defaultExpiresIn);
        const err = errorFromResponse(response.status, json, parseRetryAfter(response.headers.get('retry-after')), 'token endpoint');
        if (err instanceof OAuthErrorResponse) {
          // RFC 9449 §8: the AS answers error "use_dpop_nonce" with a DPoP-Nonce header; the client retries with it.
          if (err.error === 'use_dpop_nonce' && signer !== undefined && nonceRetries < 2 && signer.nonceFor(origin) !== undefined) {
            this.emit({ type: 'dpop_nonce', origin });
            continue;
          }
          if (NEVER_RETRY.has(err.error)) throw markFinal(err);
        }
        throw err;
      }
    }, background);
  }
}

function markFinal(err: LatchkeyClientError): LatchkeyClientError {
  (err as { retryable: boolean }).retryable = false;
  return err;
}

const sentAtSymbol = Symbol('latchkey.sentAt');
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
function inspectRedacted(this: AccessToken): Record<string, unknown> {
  const { access_token: _omitted, ...rest } = this.response;
  return { accessToken: '[redacted]', tokenType: this.tokenType, expiresAt: new Date(this.expiresAt).toISOString(), scope: this.scope, response: { access_token: '[redacted]', ...rest } };
}
/** Tokens taken from the shared cache (reported as shared_cache_hit, not token_fetched). */
const fromSharedCache = new WeakSet<AccessToken>();
type InternalToken = AccessToken & { [sentAtSymbol]: number };

function parseTokenResponse(
  json: unknown,
  sentAt: number,
  requestedScope: string | undefined,
  dpopRequested: boolean,
  defaultExpiresIn: number,
): AccessToken {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new LatchkeyClientError('ERR_INVALID_RESPONSE', 'token response is not a JSON object', { status: 200 });
  }
  const body = json as Record<string, unknown>;
  // RFC 6749 §5.1: access_token and token_type are REQUIRED.
  if (typeof body.access_token !== 'string' || body.access_token.length === 0) {
    throw new LatchkeyClientError('ERR_INVALID_RESPONSE', 'token response has no access_token', { status: 200 });
  }
  if (typeof body.token_type !== 'string') {
    throw new LatchkeyClientError('ERR_INVALID_RESPONSE', 'token response has no token_type', { status: 200 });
  }
  // RFC 6749 §5.1: "The value is case insensitive."
  const type = body.token_type.toLowerCase();
  let tokenType: 'Bearer' | 'DPoP';
  if (type === 'bearer') tokenType = 'Bearer';
  else if (type === 'dpop' && dpopRequested) tokenType = 'DPoP';
  else throw new LatchkeyClientError('ERR_INVALID_RESPONSE', `unsupported token_type ${JSON.stringify(body.token_type.slice(0, 40))}`, { status: 200 });
  let expiresIn: number | undefined;
  const raw = body.expires_in;
  if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) expiresIn = raw;
  else if (typeof raw === 'string' && /^\d+$/.test(raw) && Number(raw) > 0) expiresIn = Number(raw);
  else if (raw !== undefined) throw new LatchkeyClientError('ERR_INVALID_RESPONSE', 'token response has an invalid expires_in', { status: 200 });
  if (expiresIn === undefined) {
    // expires_in is only RECOMMENDED (RFC 6749 §5.1): fall back to a JWT's own exp, else the default.
    try {
      const { exp } = decodeJwt(body.access_token);
      if (typeof exp === 'number') expiresIn = Math.max(1, exp - Math.floor(sentAt / 1000));
    } catch {
      // not a JWT: opaque to us, as it should be
    }
  }
  const lifetimeMs = (expiresIn ?? defaultExpiresIn) * 1000;
  // Counted from when the request was sent, less up to 1 s: servers that count in whole seconds
  // (JWT iat/exp are NumericDate) may have truncated the issue time by almost a second.
  const expiresAt = sentAt + lifetimeMs - Math.min(1000, lifetimeMs / 2);
  // A lifetime that ran out before the answer arrived (e.g. `expires_in: 1e-9`) gives no usable token. Only the
  // server's full lifetime counts here: our conservative estimate may be past on a slow network for short tokens,
  // and such a token is then replaced on the next call, as any token past its margin.
  if (sentAt + lifetimeMs <= Date.now()) throw new LatchkeyClientError('ERR_INVALID_RESPONSE', 'the token expired before the token response arrived (expires_in too short)', { status: 200 });
  return makeToken(body, tokenType, expiresAt, sentAt, typeof body.scope === 'string' ? body.scope : requestedScope);
}

function makeToken(
  body: Record<string, unknown>,
  tokenType: 'Bearer' | 'DPoP',
  expiresAt: number,
  sentAt: number,
  scope: string | undefined,
): AccessToken {
  const token = {
    accessToken: body.access_token as string,
    tokenType,
    expiresAt,
    scope,
    response: Object.freeze({ ...body }),
  } as InternalToken;
  Object.defineProperty(token, sentAtSymbol, { value: sentAt, enumerable: false });
  // console.log(token) / util.inspect show everything but the token itself (JSON.stringify is unchanged).
  Object.defineProperty(token, inspectSymbol, { value: inspectRedacted, enumerable: false });
  return Object.freeze(token);
}

function serialiseToken(token: AccessToken): string {
  return JSON.stringify({ v: 1, response: token.response, scope: token.scope, expiresAt: token.expiresAt, sentAt: (token as InternalToken)[sentAtSymbol] });
}

/** Parses a shared-cache value; anything malformed or expired is treated as a miss. */
function deserialiseToken(value: string | null | undefined): AccessToken | undefined {
  if (typeof value !== 'string' || value.length > 1024 * 1024) return undefined;
  let v: { v?: unknown; response?: Record<string, unknown>; scope?: unknown; expiresAt?: unknown; sentAt?: unknown };
  try {
    v = JSON.parse(value) as typeof v;
  } catch {
    return undefined;
  }
  const r = v?.response;
  if (v?.v !== 1 || !r || typeof r !== 'object' || typeof r.access_token !== 'string' || r.access_token.length === 0) return undefined;
  if (typeof v.expiresAt !== 'number' || typeof v.sentAt !== 'number' || v.expiresAt <= Date.now() || v.sentAt > v.expiresAt) return undefined;
  if (typeof r.token_type !== 'string' || r.token_type.toLowerCase() !== 'bearer') return undefined;
  return makeToken(r, 'Bearer', v.expiresAt, v.sentAt, typeof v.scope === 'string' ? v.scope : undefined);
}

/** `promise`, or ERR_ABORTED as soon as `signal` aborts (the listener is removed once either settles). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const abortError = () => new LatchkeyClientError('ERR_ABORTED', 'aborted by the caller', { cause: signal.reason });
  if (signal.aborted) return Promise.reject(abortError());
  let onAbort = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

