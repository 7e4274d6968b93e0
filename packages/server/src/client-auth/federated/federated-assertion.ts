import { algAllowed, JoseError, KEY_LOCATING_HEADERS, normalizeTyp, parseCompactJws, verifyParsed, type ParsedJws } from '@latchkey/jose-core';
import { invalidClient, invalidRequest } from '../../shared/errors.js';
import type { FormParams, OAuthRequest } from '../../shared/oauth-request.js';
import type { CachedClient } from '../../store/client-cache.js';
import type { AuthenticatedClient } from '../types.js';
import { IssuerKeyError, type TrustedIssuer, type TrustedIssuers } from './trusted-issuer-keys.js';

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** draft-ietf-oauth-spiffe-client-auth §3.1 (JWT-SVID as a client assertion). */
export const JWT_SPIFFE_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';

/** Platform tokens are bigger than hand-made assertions (GitHub's carry ~20 claims); still bounded. */
export const MAX_FEDERATED_ASSERTION_LENGTH = 16_384;

/** Token types made for another purpose: never a client credential (RFC 8725 §3.11 explicit typing). */
const REFUSED_TYP = new Set(['at+jwt', 'dpop+jwt', 'token-introspection+jwt', 'logout+jwt', 'secevent+jwt']);

/** SPIFFE-ID §2: `spiffe://<trust domain>/<path>`; the trust domain is lower-case [a-z0-9.-_]. */
const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)(\/[A-Za-z0-9._\-/]*)?$/;

export interface FederatedAssertionDeps {
  readonly issuers: Pick<TrustedIssuers, 'byIssuer'>;
  readonly clients: { getFederated(issuerName: string, subject: string): CachedClient | undefined };
  readonly config: {
    readonly issuer: string;
    readonly allowTokenEndpointAudience: boolean;
    readonly clockSkew: number;
  };
  /** Single-use check (store or Redis): true when `key` was not seen before. */
  useOnce(key: string, expSeconds: number): Promise<boolean>;
}

/**
 * SPEC §3 / draft-ietf-oauth-rfc7523bis: the audience of a client authentication JWT is the
 * authorization server's issuer identifier as its sole value — a string, or an array of exactly that
 * one string. A platform token that also names other audiences could be replayed here by any of them.
 * The token endpoint URL only with the legacy `allowTokenEndpointAudience` setting.
 */
function audienceOk(aud: unknown, issuer: string, allowTokenEndpoint: boolean): boolean {
  const v: unknown = Array.isArray(aud) ? (aud.length === 1 ? (aud as unknown[])[0] : undefined) : aud;
  if (typeof v !== 'string') return false;
  return v === issuer || (allowTokenEndpoint && v === `${issuer}/oauth2/token`);
}

/**
 * A claim by name. A dotted name also reaches into objects when no member has the full name, trying
 * the longest member name first: `kubernetes.io.namespace` is `payload["kubernetes.io"].namespace`.
 */
function claimValue(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  if (Object.hasOwn(o, name)) return o[name];
  const parts = name.split('.');
  for (let i = parts.length - 1; i >= 1; i--) {
    const head = parts.slice(0, i).join('.');
    if (Object.hasOwn(o, head)) return claimValue(o[head], parts.slice(i).join('.'));
  }
  return undefined;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Which trusted issuer a request's assertion names, without verifying anything (routing only). */
function issuerOf(type: string | undefined, payload: Record<string, unknown>, issuers: FederatedAssertionDeps['issuers']): TrustedIssuer | undefined {
  if (type === JWT_SPIFFE_ASSERTION_TYPE) {
    const m = typeof payload.sub === 'string' ? SPIFFE_ID.exec(payload.sub) : null;
    const t = m ? issuers.byIssuer(`spiffe://${m[1]}`) : undefined;
    return t?.record.kind === 'spiffe' ? t : undefined;
  }
  const t = typeof payload.iss === 'string' ? issuers.byIssuer(payload.iss) : undefined;
  return t && t.record.kind !== 'spiffe' ? t : undefined;
}

/** The part of the payload routing needs, decoded without any verification (or undefined). */
function peekPayload(assertion: string): Record<string, unknown> | undefined {
  const a = assertion.indexOf('.');
  const b = assertion.indexOf('.', a + 1);
  if (a <= 0 || b <= a || assertion.length > MAX_FEDERATED_ASSERTION_LENGTH) return undefined;
  try {
    const p: unknown = JSON.parse(Buffer.from(assertion.slice(a + 1, b), 'base64url').toString('utf8'));
    return typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The federated authenticator: a {@link ClientAuthenticator} plus `handles`, used to route assertions. */
export interface FederatedAuthenticator {
  readonly kind: 'assertion';
  readonly methods: readonly ['federated_jwt'];
  readonly metadata: Readonly<Record<string, unknown>>;
  present(req: OAuthRequest, params: FormParams): boolean;
  /**
   * Whether this request's client assertion is a federated one: `jwt-spiffe`, or a `jwt-bearer`
   * assertion whose (unverified) `iss` is a trusted issuer. Client ids never contain "/", so an `iss`
   * that is a trusted issuer's URL can never be a private_key_jwt / client_secret_jwt client's id.
   */
  handles(params: FormParams): boolean;
  authenticate(req: OAuthRequest, params: FormParams): Promise<AuthenticatedClient>;
}

/**
 * `federated_jwt` client authentication (SPEC §9): the workload sends the token its platform issued it
 * (Kubernetes projected service-account token, SPIFFE JWT-SVID, GitHub Actions OIDC token, …) as an
 * RFC 7523 client assertion; `client_id` is optional (RFC 7521 §4.2) — the client is the one registered
 * for the token's (trusted issuer, `sub`).
 *
 * Checks, in order: the assertion type (`jwt-bearer`, or `jwt-spiffe` for a SPIFFE trust domain); a
 * canonical compact JWS within 16 KiB; `alg` in the JOSE core's client-assertion table (never `none`,
 * never HMAC — a trusted issuer has no shared secret); no key-locating header (RFC 8725 §3.10); `typ`
 * not one made for another purpose; `iss` exactly a trusted issuer (for `jwt-spiffe`, the trust domain
 * of a SPIFFE ID `sub`); the client mapped to (issuer, `sub`) exists, is enabled and is `federated_jwt`;
 * the signature with a current key of that issuer (selected by `kid`; refreshed once per cool-down on an
 * unknown `kid`); `aud` Latchkey's issuer identifier as its sole value; `exp` in the future; `iat`
 * present, not in the future, and `exp − iat` ≤ the issuer's max assertion lifetime; `nbf` not ahead;
 * every configured claim equal; `jti` single-use only when present and the issuer is single-use.
 * Every failure is the same `401 invalid_client`; the reason goes to the log only.
 *
 * Does not check: X.509-SVIDs (that is mTLS), `jti` of reusable platform tokens (a kubelet refreshes
 * the file, not per request — by design they are reusable within their short lifetime).
 */
export function federatedAssertion(deps: FederatedAssertionDeps): FederatedAuthenticator {
  const { issuers, clients, config } = deps;
  const skew = config.clockSkew;

  function handles(params: FormParams): boolean {
    const type = params.get('client_assertion_type');
    if (type === JWT_SPIFFE_ASSERTION_TYPE) return true;
    if (type !== JWT_BEARER_ASSERTION_TYPE) return false;
    const assertion = params.get('client_assertion');
    const p = assertion === undefined ? undefined : peekPayload(assertion);
    return p !== undefined && typeof p.iss === 'string' && issuers.byIssuer(p.iss) !== undefined;
  }

  async function authenticate(_req: OAuthRequest, params: FormParams): Promise<AuthenticatedClient> {
    const type = params.get('client_assertion_type');
    const assertion = params.get('client_assertion');
    if (assertion === undefined) throw invalidRequest('client_assertion is required with client_assertion_type');
    if (type !== JWT_BEARER_ASSERTION_TYPE && type !== JWT_SPIFFE_ASSERTION_TYPE) throw invalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE} or ${JWT_SPIFFE_ASSERTION_TYPE}`);

    let jws: ParsedJws;
    try {
      jws = parseCompactJws(assertion, MAX_FEDERATED_ASSERTION_LENGTH);
    } catch (e) {
      throw invalidClient(`federated assertion: ${e instanceof JoseError ? `${e.code}: ${e.message}` : 'malformed'}`);
    }
    const { header, payload: p } = jws;
    // RFC 8725 §3.1 / §2.1: the algorithm comes from the allow-list, never from the token alone.
    if (!algAllowed(header.alg, 'private-key-jwt')) throw invalidClient(`federated assertion: alg ${header.alg} not allowed`);
    for (const h of KEY_LOCATING_HEADERS) if (h in header) throw invalidClient(`federated assertion: header ${h} refused`);
    if (header.typ !== undefined && (typeof header.typ !== 'string' || REFUSED_TYP.has(normalizeTyp(header.typ)))) throw invalidClient(`federated assertion: typ ${JSON.stringify(header.typ)} refused`);

    const issuer = issuerOf(type, p, issuers);
    if (!issuer) throw invalidClient(`federated assertion: issuer ${typeof p.iss === 'string' ? p.iss.slice(0, 200) : '(none)'} is not trusted${type === JWT_SPIFFE_ASSERTION_TYPE ? ' (or sub is not a SPIFFE ID of a trusted trust domain)' : ''}`);
    const rec = issuer.record;
    const sub = p.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 1024) throw invalidClient('federated assertion: sub missing');
    const c = clients.getFederated(rec.name, sub);
    if (!c) throw invalidClient(`federated assertion: no client for issuer ${rec.name} and this sub`);
    if (c.record.disabled) throw invalidClient('client disabled');
    if (c.record.token_endpoint_auth_method !== 'federated_jwt') throw invalidClient(`client is registered for ${c.record.token_endpoint_auth_method}`);
    const claimed = params.get('client_id');
    if (claimed !== undefined && claimed !== c.record.client_id) throw invalidClient('federated assertion: client_id names another client');

    let verified: boolean;
    try {
      verified = verifyParsed(jws, await issuer.verifier(header.alg, header.kid));
    } catch (e) {
      if (e instanceof IssuerKeyError) throw invalidClient(`federated assertion: ${e.code}: ${e.message}`);
      throw e;
    }
    if (!verified) throw invalidClient('federated assertion: ERR_JWS_SIGNATURE_INVALID');

    // RFC 7523 §3 item 3 + draft-ietf-oauth-rfc7523bis: Latchkey's issuer identifier as the sole audience.
    if (!audienceOk(p.aud, config.issuer, config.allowTokenEndpointAudience)) throw invalidClient('federated assertion: aud is not the issuer identifier as its sole value');
    const now = Math.floor(Date.now() / 1000);
    // RFC 7523 §3 item 4: "The JWT MUST contain an "exp" (expiration time) claim".
    if (!num(p.exp)) throw invalidClient('federated assertion: exp missing');
    if (p.exp <= now - skew) throw invalidClient('federated assertion: expired');
    // SPEC §9: exp − iat bounded by the issuer's max assertion lifetime, so iat is required.
    if (!num(p.iat)) throw invalidClient('federated assertion: iat missing');
    if (p.iat > now + skew) throw invalidClient('federated assertion: iat in the future');
    if (p.exp - p.iat > rec.max_assertion_lifetime) throw invalidClient(`federated assertion: lifetime ${p.exp - p.iat} s exceeds ${rec.max_assertion_lifetime} s`);
    // RFC 7523 §3 item 5: "The JWT MAY contain an "nbf" (not before) claim".
    if (p.nbf !== undefined && (!num(p.nbf) || p.nbf > now + skew)) throw invalidClient('federated assertion: nbf in the future');
    const conditions = c.record.federated_identity?.claims ?? {};
    for (const [k, v] of Object.entries(conditions)) {
      if (claimValue(p, k) !== v) throw invalidClient(`federated assertion: claim ${k} does not match`);
    }
    if (rec.single_use && p.jti !== undefined) {
      if (typeof p.jti !== 'string' || p.jti.length === 0 || p.jti.length > 256) throw invalidClient('federated assertion: jti must be a string of 1 to 256 characters');
      // Last, after the signature, so a forged token cannot burn a real jti.
      if (!(await deps.useOnce(`federated:${rec.name}:${p.jti}`, p.exp + skew))) throw invalidClient('federated assertion: jti replayed');
    }
    return { client: c, method: 'federated_jwt' };
  }

  return {
    kind: 'assertion',
    methods: ['federated_jwt'],
    // RFC 8414 has no member for accepted assertion types; this Latchkey extension names both. The
    // signing algorithms are the client-assertion table's (token_endpoint_auth_signing_alg_values_supported).
    metadata: { client_assertion_types_supported: [JWT_BEARER_ASSERTION_TYPE, JWT_SPIFFE_ASSERTION_TYPE] },
    present: (_req, params) => handles(params),
    handles,
    authenticate,
  };
}
