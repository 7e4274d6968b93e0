import { LatchkeyClientError, OAuthErrorResponse } from './errors.js';

/** A `fetch`-compatible function (the global `fetch` by default). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Retry policy for token and discovery requests. */
export interface RetryOptions {
  /** Retries after the first attempt (so `maxRetries + 1` attempts at most). Default 3. */
  maxRetries?: number;
  /** First backoff step in ms; step n is `min(maxDelayMs, baseDelayMs * 2^n)` with full jitter. Default 200. */
  baseDelayMs?: number;
  /** Cap on one backoff delay in ms. Default 10 000. */
  maxDelayMs?: number;
  /**
   * Longest `Retry-After` (RFC 9110 §10.2.3) we wait out, in seconds. A longer one fails at once with
   * `retryAfterSeconds` set, rather than blocking the caller. Default 30.
   */
  maxRetryAfterSeconds?: number;
}

export interface ResolvedRetry {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterSeconds: number;
}

export function resolveRetry(retry: RetryOptions | false | undefined): ResolvedRetry {
  if (retry === false) return { maxRetries: 0, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryAfterSeconds: 30 };
  const r = {
    maxRetries: retry?.maxRetries ?? 3,
    baseDelayMs: retry?.baseDelayMs ?? 200,
    maxDelayMs: retry?.maxDelayMs ?? 10_000,
    maxRetryAfterSeconds: retry?.maxRetryAfterSeconds ?? 30,
  };
  for (const [name, value] of Object.entries(r)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `retry.${name} must be a finite number >= 0`);
    }
  }
  if (!Number.isInteger(r.maxRetries)) throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'retry.maxRetries must be an integer');
  return r;
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
export function backoffDelay(retry: ResolvedRetry, attempt: number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.random() * ceiling);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date.
 * Returns seconds (>= 0), or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // HTTP-date (IMF-fixdate, rfc850-date or asctime-date) always starts with a day name.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Status codes worth retrying: the server is overloaded or briefly broken. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Waits `ms`. An `unref`'d wait (background refreshes) does not keep the process alive. */
export function sleep(ms: number, unref = false): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (unref) timer.unref();
  });
}

export interface HttpContext {
  fetch: FetchLike;
  dispatcher: unknown;
  timeoutMs: number;
}

/**
 * One HTTP attempt with a timeout. Network failures become `ERR_NETWORK`, the timeout `ERR_TIMEOUT`;
 * both are marked retryable. The body is not read here.
 */
export async function sendOnce(ctx: HttpContext, url: string, init: RequestInit): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ctx.timeoutMs);
  const requestInit: RequestInit = { ...init, signal: controller.signal, redirect: 'manual' };
  // undici's fetch takes a per-request `dispatcher` (e.g. an Agent holding a TLS client certificate).
  if (ctx.dispatcher !== undefined) (requestInit as Record<string, unknown>).dispatcher = ctx.dispatcher;
  try {
    const response = await ctx.fetch(url, requestInit);
    // Keep the timeout running while the caller reads the body: clear it when done.
    return withTimerCleared(response, timer);
  } catch (cause) {
    clearTimeout(timer);
    if (controller.signal.aborted) {
      throw new LatchkeyClientError('ERR_TIMEOUT', `request to ${redactUrl(url)} timed out after ${ctx.timeoutMs} ms`, { retryable: true, cause });
    }
    throw new LatchkeyClientError('ERR_NETWORK', `request to ${redactUrl(url)} failed: ${describeCause(cause)}`, { retryable: true, cause });
  }
}

function withTimerCleared(response: Response, timer: ReturnType<typeof setTimeout>): Response {
  (response as Response & { [timerSymbol]?: ReturnType<typeof setTimeout> })[timerSymbol] = timer;
  return response;
}

const timerSymbol = Symbol('latchkey.timer');

/**
 * Reads a JSON body within the attempt's timeout. Returns `undefined` when the body is not JSON.
 * Transport failures while reading are retryable network errors.
 */
export async function readJson(response: Response, url: string): Promise<unknown> {
  const timer = (response as Response & { [timerSymbol]?: ReturnType<typeof setTimeout> })[timerSymbol];
  try {
    const text = await readText(response, MAX_BODY_BYTES);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  } catch (cause) {
    throw new LatchkeyClientError('ERR_NETWORK', `reading the response from ${redactUrl(url)} failed: ${describeCause(cause)}`, {
      retryable: true,
      status: response.status,
      cause,
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Token responses and metadata are small; a larger body is not read into memory. */
const MAX_BODY_BYTES = 1024 * 1024;

async function readText(response: Response, limit: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader(); // Fetch: a body is a stream of bytes (undici types it <any>)
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Drops the body of a response we are not going to read, freeing the connection. */
export async function discardBody(response: Response): Promise<void> {
  const timer = (response as Response & { [timerSymbol]?: ReturnType<typeof setTimeout> })[timerSymbol];
  if (timer !== undefined) clearTimeout(timer);
  try {
    await response.body?.cancel();
  } catch {
    // nothing to do: the connection is gone anyway
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    // fetch wraps the real reason: `TypeError: fetch failed` with `cause` = the socket error (its code), an
    // AggregateError of one error per address tried, or an Error naming what fetch refused (e.g. "bad port").
    const inner = (cause as Error & { cause?: unknown }).cause;
    const codeOf = (x: unknown) => (x && typeof x === 'object' && 'code' in x && (typeof x.code === 'string' || typeof x.code === 'number') ? String(x.code) : undefined);
    const code = codeOf(inner) ?? (inner instanceof AggregateError ? inner.errors.map(codeOf).find((c) => c !== undefined) : undefined);
    if (code !== undefined) return code;
    if (inner instanceof Error && inner.message) return `${cause.message}: ${inner.message}`;
    return cause.message;
  }
  return 'unknown error';
}

/** Strips userinfo and query from a URL before it goes into an error message. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/**
 * Turns a non-2xx response body into a typed error: an RFC 6749 §5.2 error object becomes
 * {@link OAuthErrorResponse}; anything else `ERR_HTTP_STATUS`.
 */
export function errorFromResponse(status: number, body: unknown, retryAfterSeconds: number | undefined, what: string): LatchkeyClientError {
  const retryable = isRetryableStatus(status);
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    const b = body as { error: string; error_description?: unknown; error_uri?: unknown };
    const opts: ConstructorParameters<typeof OAuthErrorResponse>[1] = {
      status,
      // RFC 6749 §5.2 temporarily_unavailable is transient by definition.
      retryable: retryable || b.error === 'temporarily_unavailable',
    };
    if (typeof b.error_description === 'string') opts.errorDescription = b.error_description.slice(0, 500);
    if (typeof b.error_uri === 'string') opts.errorUri = b.error_uri;
    if (retryAfterSeconds !== undefined) opts.retryAfterSeconds = retryAfterSeconds;
    return new OAuthErrorResponse(b.error.slice(0, 100), opts);
  }
  const opts: { status: number; retryable: boolean; retryAfterSeconds?: number } = { status, retryable };
  if (retryAfterSeconds !== undefined) opts.retryAfterSeconds = retryAfterSeconds;
  return new LatchkeyClientError('ERR_HTTP_STATUS', `${what} answered HTTP ${status}`, opts);
}
