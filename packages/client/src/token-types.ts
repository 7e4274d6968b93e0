// The token types shared by the token client and the authenticated fetch (kept apart so neither imports the other).
import type { LatchkeyClientError } from './errors.js';

/** An access token obtained with the client credentials grant (RFC 6749 §4.4.3, §5.1). */
export interface AccessToken {
  /** The access token. Treat as a secret: never log it. */
  readonly accessToken: string;
  /** `Bearer` (RFC 6750) or `DPoP` (RFC 9449 §5), normalised from the case-insensitive `token_type`. */
  readonly tokenType: 'Bearer' | 'DPoP';
  /** When the token expires, in ms since the epoch, on this host's clock, counted from when the request was sent. */
  readonly expiresAt: number;
  /** The granted scope: the response's `scope`, else the requested one (RFC 6749 §5.1). */
  readonly scope: string | undefined;
  /** The full token response as the server sent it. */
  readonly response: Readonly<Record<string, unknown>>;
}

/** Per-call token options. Omitted fields fall back to the client's defaults. */
export interface TokenRequestOptions {
  /** Scope to request (RFC 6749 §3.3): a space-separated string or a list. `''` or `[]` requests none. */
  scope?: string | readonly string[];
  /** Resource indicators (RFC 8707 §2): one absolute URI or several. `[]` sends none. */
  resource?: string | readonly string[];
  /** Get a new token even if a cached one is still fresh (joins a request already in flight). */
  forceRefresh?: boolean;
  /** Stops waiting (with `ERR_ABORTED`); the shared token request itself carries on for other callers. */
  signal?: AbortSignal;
}

/** Events for metrics and logs. They never contain secrets or tokens. */
export type TokenClientEvent =
  | {
      type: 'token_fetched';
      /** Cache key: the normalised scope and resources. */
      cacheKey: string;
      /** `true` for a refresh-ahead done while a cached token was still being served. */
      background: boolean;
      expiresInSeconds: number;
      durationMs: number;
      tokenType: 'Bearer' | 'DPoP';
    }
  | {
      type: 'refresh_failed';
      cacheKey: string;
      background: boolean;
      error: LatchkeyClientError;
      /** Until when the still-valid cached token keeps being served (background failures only). */
      servingCachedUntil: number | undefined;
      /** Before this time (ms epoch) no new request is made for this key; callers get `error`. */
      nextAttemptAt: number;
    }
  | {
      type: 'retry';
      endpoint: 'token' | 'discovery';
      /** 1 for the first retry. */
      attempt: number;
      delayMs: number;
      code: string;
      status: number | undefined;
    }
  | { type: 'dpop_nonce'; origin: string }
  | { type: 'discovery'; issuer: string; durationMs: number }
  | { type: 'shared_cache_hit'; cacheKey: string }
  | { type: 'shared_cache_error'; operation: 'get' | 'set'; error: unknown };
