import type { OAuthRequest } from '../shared/oauth-request.js';
import type { CachedClient } from '../store/client-cache.js';

/** Confirmation claim (RFC 7800) binding a token to a key: DPoP (RFC 9449 §6) or a certificate (RFC 8705 §3.1). */
export interface Binding {
  cnf: Record<string, string>;
  /** "DPoP" when a DPoP proof bound the token, else Bearer. */
  tokenType: 'Bearer' | 'DPoP';
  /** Extra response headers (e.g. a fresh DPoP-Nonce). */
  headers?: Record<string, string>;
}

/** What a binder knows about the authenticated caller of a token request. */
export interface BindingSubject {
  readonly client: CachedClient;
  /** Set when the client authenticated with its certificate (RFC 8705 §2): its SHA-256 thumbprint. */
  readonly certificateThumbprint?: string | undefined;
}

/**
 * One sender constraint of the token endpoint. `bind` runs after client authentication and returns a
 * binding, or undefined when the request carries no proof of this kind; it throws an OAuthError for an
 * invalid proof, or when the client is registered to require this constraint and sent no proof.
 */
export interface Binder<K extends string = string> {
  readonly kind: K;
  /** RFC 8414 / RFC 9449 / RFC 8705 metadata this constraint adds (empty when it adds none). */
  readonly metadata: Readonly<Record<string, unknown>>;
  bind(req: OAuthRequest, subject: BindingSubject): Promise<Binding | undefined>;
}

/**
 * The sender constraints of a token endpoint, DPoP first: the first binding wins, and a DPoP proof wins
 * over a certificate (one confirmation method per token, so a resource server never has to guess which
 * proof of possession to demand). The type requires the DPoP binder: a token endpoint built without it
 * does not compile (it would issue Bearer tokens to clients registered with dpop_bound_access_tokens).
 */
export type SenderConstraints = readonly [Binder<'dpop'>, ...Binder[]];

/** Runs the binders in order; the first binding wins. */
export async function bindSender(binders: SenderConstraints, req: OAuthRequest, subject: BindingSubject): Promise<Binding | undefined> {
  for (const b of binders) {
    const binding = await b.bind(req, subject);
    if (binding) return binding;
  }
  return undefined;
}
