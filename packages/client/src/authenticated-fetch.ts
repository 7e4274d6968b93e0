import type { DPoPSigner } from './dpop.js';
import { discardBody, type FetchLike } from './http.js';
import type { AccessToken, TokenClientEvent, TokenRequestOptions } from './token-types.js';

/**
 * @internal What {@link authenticatedFetch} uses of a {@link TokenClient} (its public and internal methods),
 * stated here so this module does not import token-client.ts (which imports this one).
 */
export interface TokenSource {
  getToken(options?: TokenRequestOptions): Promise<AccessToken>;
  headersFor(token: AccessToken, method: string, url: string | URL): Promise<{ authorization: string; dpop?: string }>;
  dpop(): Promise<DPoPSigner | undefined>;
  emit(event: TokenClientEvent): void;
  invalidate(accessToken: string): void;
}

/**
 * Reads the `error` parameter of a `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9449 §7.1).
 * Looks at every challenge in the header; returns the first `error` found.
 */
export function challengeError(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /(?:^|[\s,])error\s*=\s*(?:"([^"]*)"|([^\s,]+))/i.exec(header);
  if (match === null) return undefined;
  return match[1] ?? match[2];
}

function canReplay(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string' || body instanceof URLSearchParams || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  return false; // ReadableStream, async iterables: consumed by the first attempt
}

/** @internal The implementation behind {@link TokenClient.fetch}. */
export async function authenticatedFetch(
  client: TokenSource,
  input: string | URL | Request,
  init: RequestInit | undefined,
  options: TokenRequestOptions | undefined,
  fetchImpl: FetchLike = globalThis.fetch,
): Promise<Response> {
  const request = input instanceof Request ? input : undefined;
  const url = new URL(input instanceof Request ? input.url : input);
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  // A Request with a body is cloned per attempt so that a retry can resend it.
  const requestHasBody = request !== undefined && request.body !== null && init?.body === undefined;
  const replayable = init?.body !== undefined ? canReplay(init.body) : true;
  const baseHeaders = init?.headers ?? request?.headers;

  let token = await client.getToken(options);
  let refreshed = false;
  let nonceRetried = false;
  for (;;) {
    const headers = new Headers(baseHeaders);
    const auth = await client.headersFor(token, method, url);
    headers.set('authorization', auth.authorization);
    if (auth.dpop !== undefined) headers.set('dpop', auth.dpop);
    else headers.delete('dpop');
    const target = requestHasBody ? request.clone() : input;
    const response = await fetchImpl(target, { ...init, headers });
    if (token.tokenType === 'DPoP') {
      const signer = await client.dpop();
      if (signer !== undefined && signer.rememberNonce(url.origin, response)) client.emit({ type: 'dpop_nonce', origin: url.origin });
    }
    if (response.status !== 401 || !replayable) return response;
    const error = challengeError(response.headers.get('www-authenticate'));
    if (error === 'use_dpop_nonce' && token.tokenType === 'DPoP' && !nonceRetried) {
      // RFC 9449 §9: the resource server supplies a nonce in DPoP-Nonce; retry once with it.
      nonceRetried = true;
      await discardBody(response);
      continue;
    }
    if (error === 'invalid_token' && !refreshed) {
      // RFC 6750 §3.1 invalid_token: "The access token provided is expired, revoked, malformed, or
      // invalid for other reasons. The resource SHOULD respond with the HTTP 401 ... The client MAY
      // request a new access token and retry the protected resource request." Once, not in a loop.
      refreshed = true;
      client.invalidate(token.accessToken);
      await discardBody(response);
      token = await client.getToken(options);
      continue;
    }
    return response;
  }
}
