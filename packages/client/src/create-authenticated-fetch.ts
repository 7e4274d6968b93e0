import { authenticatedFetch } from './authenticated-fetch.js';
import type { FetchLike } from './http.js';
import type { TokenClient } from './token-client.js';
import type { TokenRequestOptions } from './token-types.js';

/** Options of {@link createAuthenticatedFetch}: the token to use, and the underlying `fetch`. */
export interface AuthenticatedFetchOptions extends Omit<TokenRequestOptions, 'signal' | 'forceRefresh'> {
  /** The `fetch` used for API calls (default: global `fetch`), e.g. one with a custom dispatcher. */
  fetch?: FetchLike;
}

/**
 * Returns a `fetch`-compatible function that authorizes every call with a token from `client`
 * (see {@link TokenClient.fetch} for the 401 handling). Hand it to SDKs that accept a custom fetch.
 *
 * @example
 * ```ts
 * const inventoryFetch = createAuthenticatedFetch(client, { scope: 'inventory:read', resource: 'https://inventory.example.com/' });
 * const res = await inventoryFetch('https://inventory.example.com/items');
 * ```
 */
export function createAuthenticatedFetch(
  client: TokenClient,
  options: AuthenticatedFetchOptions = {},
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const { fetch: fetchImpl, ...tokenOptions } = options;
  const hasTokenOptions = tokenOptions.scope !== undefined || tokenOptions.resource !== undefined;
  return (input, init) => authenticatedFetch(client, input, init, hasTokenOptions ? tokenOptions : undefined, fetchImpl ?? globalThis.fetch);
}
