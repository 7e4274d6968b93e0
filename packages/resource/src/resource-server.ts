import * as nodeCrypto from 'node:crypto';
import { isIP } from 'node:net';
import type { JwsAlgorithm, Verifier } from './algorithms.js';
import { discover, type AuthorizationServerMetadata } from './discovery.js';
import { MemoryReplayStore, normalizeHtu, verifyDpopProof, type DpopCheckOptions } from './dpop.js';
import { ResourceError } from './errors.js';
import { fetchJson, isObject } from './http-json.js';
import { JwksUnavailableError, RemoteJwks } from './jwks.js';
import { ExpiringLru } from './lru.js';
import { certificateThumbprint, parseForwardedCertificate, type CertificateInput } from './mtls.js';
import { normalizeOptions, normalizeTyp, type NormalizedOptions, type ResourceServerOptions } from './options.js';
import { assertScopes, parseScope, toRequirement, type ScopeInput } from './scopes.js';

/** Claims of an RFC 9068 access token (or an RFC 7662 introspection answer). Extend it for your own claims. */
export interface AccessTokenClaims {
  iss?: string;
  sub?: string;
  client_id?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  jti?: string;
  /** Space-separated scopes (RFC 9068 §2.2.3). Parsed into {@link AuthInfo.scopes}. */
  scope?: string;
  /** RFC 7800 confirmation: `jkt` (RFC 9449 §6) or `x5t#S256` (RFC 8705 §3.1). */
  cnf?: { jkt?: string; 'x5t#S256'?: string; [member: string]: unknown };
  [claim: string]: unknown;
}

/** A verified token, as handed to route handlers. Frozen and shared between requests that present the same token. */
export interface AuthInfo<C extends AccessTokenClaims = AccessTokenClaims> {
  /** All claims (JWT payload, or the introspection answer). Deep-frozen. */
  readonly claims: Readonly<C>;
  /** The granted scopes. */
  readonly scopes: ReadonlySet<string>;
  readonly clientId: string | undefined;
  readonly subject: string | undefined;
  /** `exp`, in seconds since the epoch (always set for JWTs; an introspection answer may omit it). */
  readonly expiresAt: number | undefined;
  readonly format: 'jwt' | 'opaque';
  /** Sender constraint the token carried, already checked against this request. */
  readonly binding: { readonly type: 'dpop'; readonly jkt: string } | { readonly type: 'mtls'; readonly x5tS256: string } | undefined;
}

/** Request facts needed to check a token's sender constraint. */
export interface VerifyContext {
  /** Authorization scheme the token came with. Default `'Bearer'`. */
  scheme?: 'Bearer' | 'DPoP';
  /** The `DPoP` header value(s) (RFC 9449 §4.3 step 1: exactly one). */
  dpopProof?: string | readonly string[];
  /** HTTP method, for DPoP `htm`. */
  method?: string;
  /** Request URL (absolute, or a path when `publicOrigin` is set), for DPoP `htu`. */
  url?: string;
  /** The TLS client certificate, for RFC 8705 `x5t#S256`; a function is only called when the token is certificate-bound. */
  clientCertificate?: CertificateInput | (() => CertificateInput | undefined);
}

/** Header lookup: a fetch `Headers`, or node-style lowercase record. */
export type HeaderSource = { get(name: string): string | null } | Record<string, string | readonly string[] | undefined>;

/** A framework-neutral view of an incoming request. */
export interface ProtectedResourceRequest {
  method: string;
  /** Absolute URL, or the path+query when `publicOrigin` is configured. */
  url: string;
  headers: HeaderSource;
  /**
   * The TLS client certificate (RFC 8705), or a function returning it (called only for a
   * certificate-bound token). When it yields nothing, `trustedCertificateHeader` is read.
   */
  clientCertificate?: CertificateInput | (() => CertificateInput | undefined);
  /** The TCP peer's address, checked against `trustedProxies` before `trustedCertificateHeader` is read. */
  remoteAddress?: string | undefined;
}

/** What to send back for a rejected request. */
export interface ErrorResponse {
  status: 400 | 401 | 403 | 503;
  headers: Record<string, string | string[]>;
  /** JSON text, or '' when the request carried no credentials at all. */
  body: string;
}

export type AuthOutcome<C extends AccessTokenClaims = AccessTokenClaims> =
  | { ok: true; auth: AuthInfo<C> }
  | { ok: false; error: ResourceError; response: ErrorResponse };

interface CacheEntry {
  info: AuthInfo;
  /** The JWKS key that verified the token ({@link RemoteJwks.keyRef}); the verdict holds only while it is published. */
  keyRef: string;
  /** `header.payload` of the verified token: public data, not a credential without the signature. */
  signingInput: string;
  length: number;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const hashToken: (token: string) => string =
  typeof (nodeCrypto as { hash?: unknown }).hash === 'function'
    ? (token) => (nodeCrypto as unknown as { hash(a: string, d: string, e: string): string }).hash('sha256', token, 'latin1')
    : (token) => nodeCrypto.createHash('sha256').update(token).digest().toString('latin1');

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const k in value) {
      const v = (value as Record<string, unknown>)[k];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  }
  return value;
}

function readHeader(headers: HeaderSource, name: string): string | readonly string[] | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  return (headers as Record<string, string | readonly string[] | undefined>)[name];
}

/**
 * Verifies OAuth 2.0 access tokens for one API: JWTs locally (RFC 9068, RFC 8725),
 * opaque tokens by RFC 7662 introspection, sender constraints (RFC 9449 DPoP,
 * RFC 8705 mTLS), scopes, and produces RFC 6750 error responses.
 *
 * Does **not** check: token revocation for JWTs (a JWT stays valid until `exp`;
 * use short lifetimes or opaque tokens), DPoP server nonces, `acr`/`auth_time`,
 * or anything application-specific about `sub`.
 */
export class ResourceServer<C extends AccessTokenClaims = AccessTokenClaims> {
  readonly #o: NormalizedOptions;
  readonly #cache: ExpiringLru<CacheEntry> | undefined;
  readonly #jwks: RemoteJwks;
  readonly #introspectionCache: ExpiringLru<AuthInfo | ResourceError> | undefined;
  readonly #inflight = new Map<string, Promise<AuthInfo>>();
  readonly #dpop: DpopCheckOptions | undefined;
  #metadata: Promise<AuthorizationServerMetadata> | undefined;
  #metadataValue: AuthorizationServerMetadata | undefined;
  #metadataAt = Number.NEGATIVE_INFINITY;
  #metadataFailedAt = Number.NEGATIVE_INFINITY;
  #introspections = 0;

  constructor(options: ResourceServerOptions) {
    const o = normalizeOptions(options);
    this.#o = o;
    this.#cache = o.cacheMaxEntries > 0 ? new ExpiringLru(o.cacheMaxEntries) : undefined;
    this.#introspectionCache = o.introspection && o.introspection.cacheTtl > 0 ? new ExpiringLru(o.introspection.maxEntries) : undefined;
    this.#jwks = new RemoteJwks(() => this.#jwksUri(), {
      algorithms: o.algorithms,
      cooldownMs: o.jwksCooldownMs,
      maxAgeMs: o.jwksMaxAgeMs,
      graceMs: o.jwksGraceMs,
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
      now: o.clock,
      // Background refresh failures do not fail requests (the keys in hand keep working), but are reported.
      onRefreshError: (err) => {
        try {
          o.onError?.(err instanceof ResourceError ? err : new ResourceError('ERR_JWKS_UNAVAILABLE', `JWKS refresh failed: ${err.message}`, { cause: err }));
        } catch {
          // A logging hook must not break verification.
        }
      },
    });
    this.#dpop = o.dpop && {
      algorithms: o.dpop.algorithms,
      maxAge: o.dpop.maxAge,
      clockTolerance: o.clockTolerance,
      replayStore: o.dpop.replayStore ?? new MemoryReplayStore(100_000, o.clock),
    };
  }

  get issuer(): string {
    return this.#o.issuer;
  }

  get audiences(): readonly string[] {
    return this.#o.audiences;
  }

  /** Counters for tests and metrics: JWKS fetches started and key sets loaded, introspection calls, cached verdicts. */
  get stats(): { jwksFetches: number; jwksLoads: number; introspections: number; cachedTokens: number } {
    return { jwksFetches: this.#jwks.fetchCount, jwksLoads: this.#jwks.generation, introspections: this.#introspections, cachedTokens: this.#cache?.size ?? 0 };
  }

  /**
   * The issuer's RFC 8414 metadata: fetched lazily, re-fetched when older than `jwks.maxAge`
   * (so a moved `jwks_uri` is followed); if a re-fetch fails, the last good document is used.
   */
  metadata(): Promise<AuthorizationServerMetadata> {
    if (this.#o.discovery === false) return Promise.reject(new ResourceError('ERR_DISCOVERY_FAILED', 'discovery is disabled'));
    const now = this.#o.clock();
    const known = this.#metadataValue;
    if (known !== undefined && now - this.#metadataAt < this.#o.jwksMaxAgeMs) return Promise.resolve(known);
    if (this.#metadata !== undefined) return this.#metadata;
    if (now - this.#metadataFailedAt < Math.max(this.#o.jwksCooldownMs, 1000)) {
      return known !== undefined ? Promise.resolve(known) : Promise.reject(new ResourceError('ERR_DISCOVERY_FAILED', 'last attempt failed within the cooldown'));
    }
    this.#metadata = discover(this.#o.issuer, this.#o.discovery, { fetch: this.#o.fetch, timeoutMs: this.#o.timeoutMs })
      .then(
        (doc) => {
          this.#metadataValue = doc;
          this.#metadataAt = this.#o.clock();
          return doc;
        },
        (err: Error) => {
          this.#metadataFailedAt = this.#o.clock();
          if (this.#metadataValue !== undefined) return this.#metadataValue;
          throw new ResourceError('ERR_DISCOVERY_FAILED', err.message, { cause: err });
        },
      )
      .finally(() => {
        this.#metadata = undefined;
      });
    return this.#metadata;
  }

  async #jwksUri(): Promise<string> {
    if (this.#o.jwksUri !== undefined) return this.#o.jwksUri;
    const uri = (await this.metadata()).jwks_uri;
    if (uri === undefined) throw new Error('metadata has no jwks_uri');
    return uri;
  }

  /**
   * Verifies an access token and, given the request facts, its sender
   * constraint. Resolves to the frozen {@link AuthInfo}; rejects with a
   * {@link ResourceError}. A token bound with `cnf.jkt` is refused unless
   * `context.scheme` is `'DPoP'` with a valid proof (RFC 9449 §7.2), and one
   * bound with `cnf["x5t#S256"]` unless the matching certificate is given (RFC 8705 §3).
   * Scopes are not checked here; see {@link ResourceServer.authenticate}.
   *
   * @example const auth = await rs.verify(token); auth.scopes.has('read:orders')
   */
  verify(token: string, context?: VerifyContext): Promise<AuthInfo<C>> {
    return this.#verify(token, context, false);
  }

  async #verify(token: string, context: VerifyContext | undefined, fromHeader: boolean): Promise<AuthInfo<C>> {
    if (typeof token !== 'string' || token.length === 0 || token.length > this.#o.maxTokenLength) {
      throw new ResourceError(fromHeader ? 'ERR_INVALID_REQUEST' : 'ERR_TOKEN_MALFORMED', 'empty or longer than maxTokenLength');
    }
    const nowMs = this.#o.clock();
    const generation = this.#jwks.generation;
    let info = this.#cached(token, nowMs);
    if (info !== undefined) {
      // Issue #15: a cached verdict is only as good as the key set it was checked against. Past jwks.maxAge
      // this starts the (single-flight) refresh, and past maxAge + grace waits for it; then the verdict
      // must still name a published key (a withdrawn one drops it, and the token is verified afresh).
      const wait = this.#jwks.revalidate(nowMs);
      if (wait !== undefined) {
        await wait;
        info = this.#cached(token, nowMs);
      }
    }
    if (info === undefined) {
      // RFC 6750 §2.1: "Bearer" 1*SP b64token. Checked on a miss only: a cache hit is a token that already passed.
      if (fromHeader && !B64TOKEN.test(token)) throw new ResourceError('ERR_INVALID_REQUEST', 'malformed credentials');
      info = await this.#verifyFresh(token, nowMs, generation);
    }
    if (info.format === 'jwt' && this.#o.introspection?.checkJwts) {
      // Opt-in revocation check (RFC 7009 revocations are invisible to local JWT checks): the issuer must
      // still call the token active (RFC 7662), answer cached for cacheTtl like any introspection.
      const answer = await this.#opaque(token, nowMs, 'revocation check');
      if (answer.claims.jti !== undefined && answer.claims.jti !== info.claims.jti) {
        throw new ResourceError('ERR_TOKEN_INACTIVE', 'introspection answer is for another token');
      }
    }
    if (info.binding !== undefined || (context !== undefined && context.scheme === 'DPoP') || this.#o.dpop?.required) {
      await this.#checkBinding(info, token, context ?? {}, nowMs);
    }
    return info as AuthInfo<C>;
  }

  /**
   * Verified-token cache lookup. The key is the SHA-256 of the signature segment, so the
   * long-lived map never holds a usable credential; the entry keeps the (public) signing
   * input and a hit requires it to match exactly, so a hit means "this exact token was verified".
   */
  #cached(token: string, nowMs: number): AuthInfo | undefined {
    const cache = this.#cache;
    if (cache === undefined) return undefined;
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const key = hashToken(token.slice(dot + 1));
    const hit = cache.get(key, nowMs);
    if (hit === undefined || hit.length !== token.length || token.slice(0, dot) !== hit.signingInput) return undefined;
    // A key withdrawn from the JWKS (compromise) stops validating cached tokens as soon as a refresh shows it gone.
    if (!this.#jwks.publishes(hit.keyRef)) {
      cache.delete(key);
      return undefined;
    }
    return hit.info;
  }

  async #verifyFresh(token: string, nowMs: number, jwksGeneration: number): Promise<AuthInfo> {
    const o = this.#o;
    // RFC 7515 §7.1 compact serialization: three non-empty base64url segments. The character check matters:
    // the signing input is hashed as bytes, and a character outside base64url (e.g. U+0141, whose low byte
    // is "A") must never make a different string hash like the one the issuer signed.
    if (!JWS.test(token)) return this.#opaque(token, nowMs, 'not a compact JWS');
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString('utf8'));
    } catch {
      header = undefined;
    }
    if (!isObject(header)) return this.#opaque(token, nowMs, 'JOSE header is not a JSON object');

    // RFC 8725 §3.1: "libraries MUST enable the caller to specify a supported set of algorithms and MUST NOT use any other algorithms".
    const alg = header.alg;
    if (typeof alg !== 'string' || !o.algorithmSet.has(alg)) {
      throw new ResourceError('ERR_JWT_ALG_NOT_ALLOWED', `alg ${JSON.stringify(alg)?.slice(0, 20)} is not allowed`);
    }
    // RFC 9068 §4: "verify that the typ header value is at+jwt or application/at+jwt and reject tokens carrying any other value".
    if (o.typ !== undefined && (typeof header.typ !== 'string' || !o.typ.has(normalizeTyp(header.typ)))) {
      throw new ResourceError('ERR_JWT_TYP_INVALID', `typ ${JSON.stringify(header.typ)?.slice(0, 40)} is not accepted`);
    }
    // RFC 7515 §4.1.11: if any extension listed in "crit" is not understood, "the JWS is invalid". We understand none.
    if (header.crit !== undefined) throw new ResourceError('ERR_JWT_CRIT_UNSUPPORTED', 'crit header present');
    const kid = header.kid;
    if (kid !== undefined && typeof kid !== 'string') throw new ResourceError('ERR_TOKEN_MALFORMED', 'kid is not a string');

    let candidates;
    try {
      candidates = await this.#jwks.candidates(kid, alg as JwsAlgorithm, jwksGeneration);
    } catch (err) {
      if (err instanceof ResourceError) throw err;
      if (err instanceof JwksUnavailableError) throw new ResourceError('ERR_JWKS_UNAVAILABLE', err.message, { cause: err });
      throw err;
    }
    if (candidates.length === 0) throw new ResourceError('ERR_JWKS_NO_MATCHING_KEY', 'no JWKS key matches kid and alg');
    const signingInput = Buffer.from(token.slice(0, dot2), 'latin1');
    const signatureSegment = token.slice(dot2 + 1);
    const signature = Buffer.from(signatureSegment, 'base64url');
    // RFC 7515 §2 / RFC 4648 §3.5: only the canonical base64url form. Node's decoder ignores the spare
    // low bits of the last character, so "...A" and "...B" could otherwise be two valid spellings of one token.
    if (signature.toString('base64url') !== signatureSegment) throw new ResourceError('ERR_JWS_SIGNATURE_INVALID', 'non-canonical base64url signature');
    let verifiedBy: Verifier | undefined;
    for (const candidate of candidates) {
      if (candidate.verify(signingInput, signature)) {
        verifiedBy = candidate;
        break;
      }
    }
    if (verifiedBy === undefined) throw new ResourceError('ERR_JWS_SIGNATURE_INVALID', 'signature does not verify');

    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
    } catch {
      claims = undefined;
    }
    // RFC 7519 §7.2 step 10: the payload of a JWT is a JSON object.
    if (!isObject(claims)) throw new ResourceError('ERR_TOKEN_MALFORMED', 'payload is not a JSON object');
    const validUntil = this.#validateClaims(claims, nowMs / 1000, 'jwt');
    const info = this.#buildInfo(claims, 'jwt');
    const keyRef = this.#jwks.keyRef(verifiedBy);
    if (this.#cache !== undefined && keyRef !== undefined) {
      // Flatten the signing input so the entry does not pin the caller's token string through a slice.
      const signingInputCopy = Buffer.from(token.slice(0, dot2), 'latin1').toString('latin1');
      this.#cache.set(hashToken(token.slice(dot2 + 1)), { info, keyRef, signingInput: signingInputCopy, length: token.length }, validUntil * 1000);
    }
    return info;
  }

  /** Returns the time (s) until which the claims stay valid. */
  #validateClaims(claims: Record<string, unknown>, now: number, format: 'jwt' | 'opaque'): number {
    const o = this.#o;
    const tol = o.clockTolerance;
    const code = format === 'jwt' ? undefined : 'ERR_TOKEN_INACTIVE';
    if (format === 'jwt') {
      for (const name of o.requiredClaims) {
        if (claims[name] === undefined) throw new ResourceError('ERR_JWT_CLAIM_INVALID', `"${name}" claim missing`);
      }
    }
    // RFC 9068 §4: "The issuer identifier for the authorization server MUST exactly match the value of the iss claim".
    if (claims.iss !== o.issuer && (format === 'jwt' || claims.iss !== undefined)) {
      throw new ResourceError(code ?? 'ERR_JWT_ISSUER_INVALID', 'iss does not match');
    }
    // RFC 7519 §4.1.4: "the current date/time MUST be before the expiration date/time"; exp is always required here.
    const exp = claims.exp;
    if (format === 'jwt' || exp !== undefined) {
      if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'exp missing or not a number');
      if (now >= exp + tol) throw new ResourceError(code ?? 'ERR_JWT_EXPIRED', 'exp is in the past');
    }
    // RFC 7519 §4.1.5: the JWT "MUST NOT be accepted for processing" before nbf.
    if (claims.nbf !== undefined) {
      if (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf)) throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'nbf not a number');
      if (claims.nbf > now + tol) throw new ResourceError(code ?? 'ERR_JWT_NOT_YET_VALID', 'nbf is in the future');
    }
    let until = typeof exp === 'number' ? exp + tol : Number.POSITIVE_INFINITY;
    if (claims.iat !== undefined) {
      if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'iat not a number');
      if (claims.iat > now + tol) throw new ResourceError(code ?? 'ERR_JWT_NOT_YET_VALID', 'iat is in the future');
    }
    if (o.maxTokenAge !== undefined) {
      if (typeof claims.iat !== 'number') throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'iat required by maxTokenAge');
      if (now - claims.iat > o.maxTokenAge + tol) throw new ResourceError(code ?? 'ERR_JWT_TOO_OLD', 'iat older than maxTokenAge');
      until = Math.min(until, claims.iat + o.maxTokenAge + tol);
    }
    // RFC 9068 §4: "The resource server MUST validate that the aud claim contains a resource indicator value corresponding to an identifier the resource server expects for itself."
    const aud = claims.aud;
    const requireAud = format === 'jwt' || this.#o.introspection?.requireAudience !== false || aud !== undefined;
    if (requireAud && !audienceMatches(aud, o.audiences)) {
      throw new ResourceError(code ?? 'ERR_JWT_AUDIENCE_INVALID', 'aud does not name this resource');
    }
    for (const name of ['sub', 'client_id', 'jti', 'scope'] as const) {
      if (claims[name] !== undefined && typeof claims[name] !== 'string') {
        throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', `${name} is not a string`);
      }
    }
    const cnf = claims.cnf;
    if (cnf !== undefined) {
      if (!isObject(cnf)) throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'cnf is not an object');
      if (cnf.jkt !== undefined && typeof cnf.jkt !== 'string') throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'cnf.jkt is not a string');
      if (cnf['x5t#S256'] !== undefined && typeof cnf['x5t#S256'] !== 'string') {
        throw new ResourceError(code ?? 'ERR_JWT_CLAIM_INVALID', 'cnf.x5t#S256 is not a string');
      }
    }
    return until;
  }

  #buildInfo(claims: Record<string, unknown>, format: 'jwt' | 'opaque'): AuthInfo {
    const cnf = claims.cnf as { jkt?: string; 'x5t#S256'?: string } | undefined;
    const binding =
      cnf?.jkt !== undefined
        ? ({ type: 'dpop', jkt: cnf.jkt } as const)
        : cnf?.['x5t#S256'] !== undefined
          ? ({ type: 'mtls', x5tS256: cnf['x5t#S256'] } as const)
          : undefined;
    return deepFreeze({
      claims,
      scopes: parseScope(claims.scope),
      clientId: claims.client_id as string | undefined,
      subject: claims.sub as string | undefined,
      expiresAt: claims.exp as number | undefined,
      format,
      binding,
    });
  }

  async #opaque(token: string, nowMs: number, why: string): Promise<AuthInfo> {
    const cfg = this.#o.introspection;
    if (cfg === undefined) throw new ResourceError('ERR_TOKEN_UNSUPPORTED', `${why} and introspection is not configured`);
    if (!B64TOKEN.test(token)) throw new ResourceError('ERR_TOKEN_MALFORMED', 'not an RFC 6750 b64token');
    // Keyed by the SHA-256 of the whole token: the map never holds the credential itself.
    const k = hashToken(token);
    const cached = this.#introspectionCache?.get(k, nowMs);
    if (cached !== undefined) {
      if (cached instanceof ResourceError) throw cached;
      return cached;
    }
    let pending = this.#inflight.get(k);
    if (pending === undefined) {
      // Random opaque tokens would each cost the issuer a request: cap the calls in flight and fail fast beyond.
      if (this.#inflight.size >= cfg.maxConcurrent) {
        throw new ResourceError('ERR_INTROSPECTION_UNAVAILABLE', `more than ${cfg.maxConcurrent} introspections in flight`);
      }
      pending = this.#introspect(token, k).finally(() => this.#inflight.delete(k));
      this.#inflight.set(k, pending);
    }
    return pending;
  }

  /** RFC 7662 §2.1 request, §2.2 response. */
  async #introspect(token: string, key: string): Promise<AuthInfo> {
    const cfg = this.#o.introspection!;
    let endpoint = cfg.endpoint;
    if (endpoint === undefined) {
      endpoint = (await this.metadata()).introspection_endpoint;
      if (endpoint === undefined) throw new ResourceError('ERR_INTROSPECTION_UNAVAILABLE', 'issuer metadata has no introspection_endpoint');
    }
    const { applyClientAuthentication } = await import('@latchkey/client');
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' });
    let result: { status: number; body: unknown };
    this.#introspections++;
    try {
      // The client-authentication audience is the AS issuer identifier (draft-ietf-oauth-rfc7523bis).
      await applyClientAuthentication(cfg.clientAuthentication, this.#o.issuer, headers, body);
      result = await fetchJson(endpoint, {
        fetch: this.#o.fetch,
        timeoutMs: cfg.timeoutMs,
        maxBytes: 64 * 1024,
        init: { method: 'POST', headers: Object.fromEntries(headers), body: body.toString() },
      });
    } catch (err) {
      throw new ResourceError('ERR_INTROSPECTION_UNAVAILABLE', `introspection request failed: ${(err as Error).message}`, { cause: err });
    }
    if (result.status !== 200) throw new ResourceError('ERR_INTROSPECTION_UNAVAILABLE', `introspection answered HTTP ${result.status}`);
    const answer = result.body;
    // RFC 7662 §2.2: "active" is REQUIRED and boolean.
    if (!isObject(answer) || typeof answer.active !== 'boolean') {
      throw new ResourceError('ERR_INTROSPECTION_UNAVAILABLE', 'introspection answer is not an RFC 7662 object');
    }
    const nowMs = this.#o.clock();
    let until: number;
    try {
      if (answer.active !== true) throw new ResourceError('ERR_TOKEN_INACTIVE', 'introspection says inactive');
      until = this.#validateClaims(answer, nowMs / 1000, 'opaque');
    } catch (err) {
      // An inactive token never becomes active again (RFC 7662 §2.2): remember the verdict too, so a client
      // retrying a revoked or foreign token does not hammer the issuer.
      // Except "not yet valid" (nbf/iat ahead of our clock): that one changes with time.
      const ahead = (t: unknown) => typeof t === 'number' && t > nowMs / 1000 + this.#o.clockTolerance;
      const temporary = answer.active === true && (ahead(answer.nbf) || ahead(answer.iat));
      if (err instanceof ResourceError && err.code === 'ERR_TOKEN_INACTIVE' && !temporary && this.#introspectionCache !== undefined) {
        this.#introspectionCache.set(key, err, nowMs + cfg.cacheTtl * 1000);
      }
      throw err;
    }
    const info = this.#buildInfo(answer, 'opaque');
    if (this.#introspectionCache !== undefined) {
      // Reuse the answer briefly, and never beyond the token's own expiry.
      this.#introspectionCache.set(key, info, Math.min(nowMs + cfg.cacheTtl * 1000, until * 1000));
    }
    return info;
  }

  async #checkBinding(info: AuthInfo, token: string, ctx: VerifyContext, nowMs: number): Promise<void> {
    const o = this.#o;
    const scheme = ctx.scheme ?? 'Bearer';
    const jkt = info.binding?.type === 'dpop' ? info.binding.jkt : undefined;
    if (scheme === 'Bearer') {
      if (o.dpop?.required) throw new ResourceError('ERR_DPOP_REQUIRED', 'Bearer scheme refused');
      // RFC 9449 §7.2: a DPoP-bound access token presented with the Bearer scheme must be rejected.
      if (jkt !== undefined) throw new ResourceError('ERR_TOKEN_SENDER_CONSTRAINED', 'DPoP-bound token presented as Bearer');
    } else {
      if (this.#dpop === undefined || jkt === undefined) throw new ResourceError('ERR_DPOP_NOT_BOUND', 'DPoP scheme with a token that has no cnf.jkt');
      const proofs = ctx.dpopProof;
      // RFC 9449 §4.3 step 1: "There is not more than one DPoP HTTP request header field".
      const proof = typeof proofs === 'string' ? proofs : proofs !== undefined && proofs.length === 1 ? proofs[0] : undefined;
      if (proof === undefined || proof === '') throw new ResourceError('ERR_DPOP_PROOF_MISSING', proofs === undefined ? 'no DPoP header' : 'several DPoP headers');
      const htu = this.#htu(ctx.url);
      if (htu === undefined || ctx.method === undefined) throw new ResourceError('ERR_DPOP_PROOF_INVALID', 'request URL or method unknown');
      await verifyDpopProof({ proof, method: ctx.method, htu, accessToken: token, jkt, now: nowMs / 1000 }, this.#dpop);
    }
    if (info.binding?.type === 'mtls') {
      const source = ctx.clientCertificate;
      const cert = typeof source === 'function' ? source() : source;
      if (cert === undefined) throw new ResourceError('ERR_MTLS_CERTIFICATE_MISSING', 'certificate-bound token without a client certificate');
      // RFC 8705 §3: the RS "MUST verify that the certificate matches the certificate associated with the access token".
      if (certificateThumbprint(cert) !== info.binding.x5tS256) {
        throw new ResourceError('ERR_MTLS_CERTIFICATE_MISMATCH', 'x5t#S256 differs from the client certificate');
      }
    }
  }

  #htu(url: string | undefined): string | undefined {
    if (url === undefined) return undefined;
    if (this.#o.publicOrigin !== undefined) {
      const path = url.startsWith('/') ? url : (() => {
        try {
          const u = new URL(url);
          return u.pathname + u.search;
        } catch {
          return undefined;
        }
      })();
      return path === undefined ? undefined : normalizeHtu(this.#o.publicOrigin + path);
    }
    return normalizeHtu(url);
  }

  /**
   * Full check of one request: parses `Authorization` (RFC 6750 §2.1, RFC 9449 §7.1),
   * verifies the token and its sender constraint, then the scopes. A rejected request
   * resolves with a ready RFC 6750 §3 response; only an invalid `scopes` argument rejects.
   */
  async authenticate(request: ProtectedResourceRequest, scopes?: ScopeInput): Promise<AuthOutcome<C>> {
    let scheme: 'Bearer' | 'DPoP' | undefined;
    // A bad scope requirement is a programming error (ResourceConfigError), not the caller's: it rejects.
    const requirement = toRequirement(scopes);
    try {
      const raw = readHeader(request.headers, 'authorization');
      let authorization: string | undefined;
      if (typeof raw === 'string') authorization = raw;
      else if (raw !== undefined && raw.length > 0) {
        // RFC 6750 §3.1 invalid_request: "uses more than one method for including an access token".
        if (raw.length > 1) throw new ResourceError('ERR_INVALID_REQUEST', 'several Authorization headers');
        authorization = raw[0];
      }
      // RFC 6750 §2.3 / RFC 9700 §4.3.2: tokens in the URI leak through logs and Referer; we do not accept them.
      if (request.url.includes('access_token=') && new URL(request.url, 'http://x').searchParams.has('access_token')) {
        throw new ResourceError('ERR_INVALID_REQUEST', 'access_token in the query string is not accepted');
      }
      if (authorization === undefined || authorization === '') throw new ResourceError('ERR_MISSING_TOKEN', 'no Authorization header');
      // RFC 7235 §2.1: credentials = auth-scheme [ 1*SP token68 ]; the scheme is case-insensitive.
      const space = authorization.indexOf(' ');
      const schemeName = space === 6 && authorization.startsWith('Bearer') ? 'bearer' : (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
      if (schemeName === 'bearer') scheme = 'Bearer';
      else if (schemeName === 'dpop' && this.#o.dpop) scheme = 'DPoP';
      else throw new ResourceError('ERR_MISSING_TOKEN', 'unsupported Authorization scheme');
      let start = space;
      while (start !== -1 && authorization.charCodeAt(start) === 32) start++;
      const token = start === -1 ? '' : authorization.slice(start);
      // RFC 6750 §2.1: "Bearer" 1*SP b64token — exactly one token; its characters are checked in #verify.
      if (token === '') throw new ResourceError('ERR_INVALID_REQUEST', 'malformed credentials');
      const dpop = scheme === 'DPoP' ? readHeader(request.headers, 'dpop') : undefined;
      const clientCertificate = this.#certificateSource(request);
      const auth = await this.#verify(token, { scheme, dpopProof: dpop, method: request.method, url: request.url, clientCertificate }, true);
      assertScopes(auth.scopes, requirement);
      return { ok: true, auth };
    } catch (err) {
      const error =
        err instanceof ResourceError
          ? err
          : new ResourceError('ERR_TOKEN_MALFORMED', `unexpected: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      try {
        this.#o.onError?.(error);
      } catch {
        // A logging hook must not change the answer.
      }
      return { ok: false, error, response: this.errorResponse(error, scheme) };
    }
  }

  /**
   * The one certificate source order of every adapter: the TLS socket's certificate, then
   * `trustedCertificateHeader` when configured and the peer is one of `trustedProxies` (any peer
   * when that list is not set). Read lazily: only certificate-bound tokens look.
   */
  #certificateSource(request: ProtectedResourceRequest): CertificateInput | (() => CertificateInput | undefined) | undefined {
    const tls = request.clientCertificate;
    const name = this.#o.trustedCertificateHeader;
    if (name === undefined) return tls;
    return () => {
      const fromTls = typeof tls === 'function' ? tls() : tls;
      if (fromTls !== undefined) return fromTls;
      const proxies = this.#o.trustedProxies;
      if (proxies !== undefined) {
        const peer = request.remoteAddress;
        const version = typeof peer === 'string' ? isIP(peer) : 0;
        if (version === 0 || !proxies.check(peer!, version === 4 ? 'ipv4' : 'ipv6')) return undefined;
      }
      // Several header lines (or a comma-joined value) are not one certificate: none.
      const v = readHeader(request.headers, name);
      return typeof v === 'string' ? parseForwardedCertificate(v) : undefined;
    };
  }

  /**
   * The RFC 6750 §3 response for an error: status, `WWW-Authenticate` challenge(s)
   * (`Bearer`, and `DPoP` with `algs` when DPoP is enabled, RFC 9449 §7.1), and a
   * JSON body `{error, error_description}`. Error attributes go on the challenge of
   * the scheme the client used.
   */
  errorResponse(error: ResourceError, usedScheme?: 'Bearer' | 'DPoP'): ErrorResponse {
    const o = this.#o;
    const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' };
    if (error.status === 503) {
      headers['retry-after'] = '5';
      headers['content-type'] = 'application/json';
      return { status: 503, headers, body: JSON.stringify({ error: error.error, error_description: error.description }) };
    }
    const schemes: ('Bearer' | 'DPoP')[] = [];
    if (!o.dpop?.required) schemes.push('Bearer');
    if (o.dpop) schemes.push('DPoP');
    const challenges = schemes.map((scheme) => {
      const params: string[] = [];
      if (o.realm !== undefined) params.push(`realm="${o.realm}"`);
      if (error.error !== undefined && (usedScheme === undefined || usedScheme === scheme)) {
        params.push(`error="${error.error}"`);
        if (error.description !== undefined) params.push(`error_description="${error.description}"`);
        // RFC 6750 §3: "scope" lists the scope necessary to access the resource.
        if (error.requiredScope !== undefined) params.push(`scope="${error.requiredScope}"`);
      }
      if (scheme === 'DPoP') params.push(`algs="${o.dpop!.algsChallenge}"`);
      return params.length === 0 ? scheme : `${scheme} ${params.join(', ')}`;
    });
    headers['www-authenticate'] = challenges.length === 1 ? challenges[0]! : challenges;
    if (error.error === undefined) return { status: error.status, headers, body: '' };
    headers['content-type'] = 'application/json';
    const body: Record<string, string> = { error: error.error };
    if (error.description !== undefined) body.error_description = error.description;
    if (error.requiredScope !== undefined) body.scope = error.requiredScope;
    return { status: error.status, headers, body: JSON.stringify(body) };
  }
}

function audienceMatches(aud: unknown, expected: readonly string[]): boolean {
  if (typeof aud === 'string') return expected.includes(aud);
  if (!Array.isArray(aud) || aud.length === 0) return false;
  let match = false;
  for (const a of aud) {
    if (typeof a !== 'string') return false;
    if (expected.includes(a)) match = true;
  }
  return match;
}

/**
 * Creates a {@link ResourceServer} (RFC 9068 §4 / RFC 8725 JWT checks, RFC 7662
 * introspection, RFC 9449 / RFC 8705 sender constraints, RFC 6750 errors). Options
 * are validated now (a bad one throws `ResourceConfigError` naming it); the issuer is
 * contacted lazily, on the first token. Does not check JWT revocation, DPoP nonces,
 * or `acr`/`auth_time`; see {@link ResourceServer}.
 *
 * @example
 * const rs = createResourceServer({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' });
 * const auth = await rs.verify(token);
 */
export function createResourceServer<C extends AccessTokenClaims = AccessTokenClaims>(options: ResourceServerOptions): ResourceServer<C> {
  return new ResourceServer<C>(options);
}
