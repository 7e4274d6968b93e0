import { BlockList, isIP } from 'node:net';
import type { ClientAuthentication } from '@latchkey/client';
import { SUPPORTED_ALGORITHMS, isSupportedAlgorithm, type JwsAlgorithm } from './algorithms.js';
import type { DiscoveryMode } from './discovery.js';
import type { ReplayStore } from './dpop.js';
import type { ResourceError } from './errors.js';
import { ResourceConfigError } from './errors.js';
import type { FetchLike } from './http-json.js';

/**
 * Options for {@link createResourceServer}. Durations are in **seconds**.
 * Everything is validated once, when the resource server is created.
 */
export interface ResourceServerOptions {
  /** The authorization server's issuer identifier; `iss` must equal it exactly (RFC 9068 §4). `https:` unless the host is loopback. */
  issuer: string;
  /** This API's identifier(s); `aud` must contain at least one (RFC 9068 §4, RFC 8707). */
  audience: string | readonly string[];
  /**
   * How to find `jwks_uri` / `introspection_endpoint`: `'auto'` (default) tries RFC 8414
   * `/.well-known/oauth-authorization-server` then `/.well-known/openid-configuration`.
   * `false`: no discovery; give `jwksUri` (and `introspection.endpoint`) yourself.
   */
  discovery?: DiscoveryMode | false;
  /** JWK Set URL; skips discovery for JWT verification. */
  jwksUri?: string;
  /** Accepted JWS algorithms (RFC 8725 §3.1). Default: all asymmetric ones we support. `none` and `HS*` are refused at start-up. */
  algorithms?: readonly JwsAlgorithm[];
  /**
   * Accepted JOSE `typ` values (RFC 8725 §3.11). Default `['at+jwt']` (RFC 9068 §4; `application/at+jwt` is the same value).
   * For a legacy issuer that does not type its tokens use e.g. `['JWT']`, or `false` to skip the check.
   */
  typ?: string | readonly string[] | false;
  /** Claims that must be present. Default: RFC 9068 §2.2 — `iss exp aud sub client_id iat jti`. `iss`, `aud`, `exp` are always required. */
  requiredClaims?: readonly string[];
  /** Allowed clock skew for `exp`/`nbf`/`iat` and DPoP `iat`. Default 5, at most 300. */
  clockTolerance?: number;
  /** Reject tokens whose `iat` is older than this (then `iat` is required). Default: no limit. */
  maxTokenAge?: number;
  /** Longest token accepted, in characters. Default 8192. */
  maxTokenLength?: number;
  /** `realm` in `WWW-Authenticate` (RFC 6750 §3). Default: none. */
  realm?: string;
  /** Verified-token cache: `false` to disable. Default `{ maxEntries: 10000 }`. Entries expire at the token's `exp`. */
  cache?: false | { maxEntries?: number };
  /** JWKS refresh policy. Defaults: `cooldown` 30, `maxAge` 300, `timeout` 5. */
  jwks?: { cooldown?: number; maxAge?: number; timeout?: number };
  /** Opaque tokens via RFC 7662 introspection. Off unless given. */
  introspection?: IntrospectionOptions;
  /** DPoP (RFC 9449). Default: accepted (`true`); `false` refuses the DPoP scheme; `{ required: true }` refuses Bearer. */
  dpop?: boolean | DpopOptions;
  /**
   * Public origin of this API (e.g. `https://api.example.com`), used to build the expected DPoP `htu`.
   * Strongly recommended behind proxies; without it the adapters derive it from the request.
   */
  publicOrigin?: string;
  /**
   * Name of a header in which a TLS-terminating proxy forwards the client certificate
   * (RFC 9440 `client-cert`, or URL-encoded PEM). Only set this if the proxy removes the
   * header from client requests. Used for RFC 8705 `x5t#S256` binding.
   */
  trustedCertificateHeader?: string;
  /**
   * Addresses (IPv4/IPv6, or CIDR ranges like `10.0.0.0/8`) of the proxies allowed to set
   * `trustedCertificateHeader`: the header is read only on requests whose peer address
   * (`ProtectedResourceRequest.remoteAddress`, the TCP peer in the node adapters) is one of them.
   * Default: any peer — then no client may be able to reach the API except through the proxy.
   */
  trustedProxies?: readonly string[];
  /** `fetch` used for discovery, JWKS and introspection. Default: global `fetch`. */
  fetch?: FetchLike;
  /** Clock in milliseconds since the epoch (tests). Default `Date.now`. */
  clock?: () => number;
  /**
   * Called with every rejected request's error, and with `ERR_JWKS_UNAVAILABLE` when a background
   * JWKS refresh fails (requests keep using the keys in hand). Log `code` and `detail`; neither contains the token.
   */
  onError?: (error: ResourceError) => void;
}

export interface IntrospectionOptions {
  /** How this API authenticates to the introspection endpoint (`@latchkey/client` `ClientAuthentication`). */
  clientAuthentication: ClientAuthentication;
  /** Defaults to the discovered `introspection_endpoint`. */
  endpoint?: string;
  /** How long an `active: true` answer may be reused (never beyond `exp`). Default 60, at most 300. */
  cacheTtl?: number;
  /** Entries in the introspection cache. Default 10000. */
  maxEntries?: number;
  /** Request timeout. Default 5. */
  timeout?: number;
  /** Reject answers without an `aud` naming this API. Default true. */
  requireAudience?: boolean;
  /** Introspection calls in flight at most; beyond, fail fast with `ERR_INTROSPECTION_UNAVAILABLE`. Default 64. */
  maxConcurrent?: number;
  /**
   * Also ask the issuer about JWTs (after the local checks pass), so revoked JWTs (RFC 7009) are refused
   * within `cacheTtl`. Costs one introspection per new token. Default false.
   */
  checkJwts?: boolean;
}

export interface DpopOptions {
  /** Refuse the `Bearer` scheme entirely. Default false (bearer tokens without `cnf.jkt` are accepted). */
  required?: boolean;
  /** Accepted proof algorithms. Default: ES256, ES384, ES512, PS256, PS384, PS512, RS256, EdDSA, Ed25519. */
  algorithms?: readonly JwsAlgorithm[];
  /** Seconds a proof is accepted after its `iat`. Default 60, at most 600. */
  maxAge?: number;
  /** Where proof `jti`s are remembered. Default: an in-process {@link MemoryReplayStore}. */
  replayStore?: ReplayStore;
}

export interface NormalizedOptions {
  issuer: string;
  audiences: readonly string[];
  discovery: DiscoveryMode | false;
  jwksUri: string | undefined;
  algorithms: readonly JwsAlgorithm[];
  algorithmSet: ReadonlySet<string>;
  typ: ReadonlySet<string> | undefined;
  requiredClaims: readonly string[];
  clockTolerance: number;
  maxTokenAge: number | undefined;
  maxTokenLength: number;
  realm: string | undefined;
  cacheMaxEntries: number;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  /** Stale-while-revalidate window after `jwksMaxAgeMs`: `jwks.timeout`, at most `jwks.maxAge`. */
  jwksGraceMs: number;
  timeoutMs: number;
  introspection:
    | {
        clientAuthentication: ClientAuthentication;
        endpoint: string | undefined;
        cacheTtl: number;
        maxEntries: number;
        timeoutMs: number;
        requireAudience: boolean;
        maxConcurrent: number;
        checkJwts: boolean;
      }
    | undefined;
  dpop: { required: boolean; algorithms: ReadonlySet<string>; algsChallenge: string; maxAge: number; replayStore: ReplayStore | undefined } | undefined;
  publicOrigin: string | undefined;
  trustedCertificateHeader: string | undefined;
  trustedProxies: BlockList | undefined;
  fetch: FetchLike;
  clock: () => number;
  onError: ((error: ResourceError) => void) | undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const RFC9068_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];
const DEFAULT_DPOP_ALGS: JwsAlgorithm[] = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'];

function seconds(path: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ResourceConfigError(path, `must be a number of seconds between ${min} and ${max}`);
  }
  return value;
}

function absoluteUrl(path: string, value: unknown, allowPath = true): string {
  if (typeof value !== 'string') throw new ResourceConfigError(path, 'must be a URL string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ResourceConfigError(path, 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ResourceConfigError(path, 'must use https (http only for loopback hosts)');
  }
  if (url.hash || url.search || (!allowPath && url.pathname !== '/')) throw new ResourceConfigError(path, allowPath ? 'must not have a query or fragment' : 'must be an origin');
  return value;
}

function algorithmList(path: string, value: unknown, fallback: readonly JwsAlgorithm[]): JwsAlgorithm[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.length === 0) throw new ResourceConfigError(path, 'must be a non-empty array');
  for (const alg of value) {
    // RFC 8725 §3.1 / §3.2: never "none", never a MAC for tokens checked with a public key.
    if (!isSupportedAlgorithm(alg)) {
      throw new ResourceConfigError(path, `"${String(alg)}" is not allowed; use some of ${SUPPORTED_ALGORITHMS.join(', ')}`);
    }
  }
  return [...new Set(value as JwsAlgorithm[])];
}

/**
 * The credentials each RFC 7591 method needs, checked now rather than on the first opaque token.
 * (The key itself is checked by `@latchkey/client` when it signs: it is loaded only for introspection.)
 */
function checkClientCredentials(auth: Record<string, unknown>): void {
  const path = 'introspection.clientAuthentication';
  switch (auth.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
    case 'client_secret_jwt':
      if (typeof auth.clientSecret !== 'string' || auth.clientSecret === '') throw new ResourceConfigError(`${path}.clientSecret`, `is required for ${auth.method}`);
      return;
    case 'private_key_jwt':
      if (typeof auth.privateKey !== 'object' || auth.privateKey === null) throw new ResourceConfigError(`${path}.privateKey`, 'is required for private_key_jwt');
      return;
    case 'federated_jwt':
      if (typeof auth.assertion !== 'function') throw new ResourceConfigError(`${path}.assertion`, 'is required for federated_jwt');
      return;
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      return;
    default:
      throw new ResourceConfigError(`${path}.method`, 'must be a token_endpoint_auth_method @latchkey/client implements');
  }
}

function addProxy(list: BlockList, entry: unknown, path: string): void {
  const bad = () => new ResourceConfigError(path, 'must be an IP address or a CIDR range such as 10.0.0.0/8');
  if (typeof entry !== 'string') throw bad();
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) throw bad();
  const type = version === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) return list.addAddress(address, type);
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (version === 4 ? 32 : 128)) throw bad();
  list.addSubnet(address, Number(prefix), type);
}

/** RFC 7515 §4.1.9: media type names are case-insensitive and the "application/" prefix may be omitted. */
export function normalizeTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

/** A non-empty array of non-empty strings (options come from JavaScript callers too, so the types are checked). */
function isNonEmptyStringList(v: unknown): v is readonly string[] {
  return Array.isArray(v) && v.length > 0 && (v as unknown[]).every((a) => typeof a === 'string' && a !== '');
}

export function normalizeOptions(o: ResourceServerOptions): NormalizedOptions {
  if (typeof o !== 'object' || o === null) throw new ResourceConfigError('options', 'must be an object');
  const issuer = absoluteUrl('issuer', o.issuer);
  const audiences: unknown = typeof o.audience === 'string' ? [o.audience] : o.audience;
  if (!isNonEmptyStringList(audiences)) {
    throw new ResourceConfigError('audience', 'must be a non-empty string or array of strings');
  }
  const discovery = o.discovery ?? 'auto';
  if (discovery !== false && !['auto', 'oauth-authorization-server', 'openid-configuration'].includes(discovery)) {
    throw new ResourceConfigError('discovery', 'must be "auto", "oauth-authorization-server", "openid-configuration" or false');
  }
  const jwksUri = o.jwksUri === undefined ? undefined : absoluteUrl('jwksUri', o.jwksUri);
  if (discovery === false && jwksUri === undefined) throw new ResourceConfigError('jwksUri', 'required when discovery is false');
  const algorithms = algorithmList('algorithms', o.algorithms, SUPPORTED_ALGORITHMS);
  let typ: Set<string> | undefined;
  if (o.typ !== false) {
    const list = o.typ === undefined ? ['at+jwt'] : typeof o.typ === 'string' ? [o.typ] : o.typ;
    if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || t === '')) {
      throw new ResourceConfigError('typ', 'must be a string, a non-empty array of strings, or false');
    }
    typ = new Set(list.map(normalizeTyp));
  }
  const requiredClaims = o.requiredClaims ?? RFC9068_CLAIMS;
  if (!Array.isArray(requiredClaims) || requiredClaims.some((c) => typeof c !== 'string')) {
    throw new ResourceConfigError('requiredClaims', 'must be an array of claim names');
  }
  const maxTokenLength = o.maxTokenLength ?? 8192;
  if (!Number.isInteger(maxTokenLength) || maxTokenLength < 64 || maxTokenLength > 65536) {
    throw new ResourceConfigError('maxTokenLength', 'must be an integer between 64 and 65536');
  }
  if (o.realm !== undefined && (typeof o.realm !== 'string' || !/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/.test(o.realm))) {
    throw new ResourceConfigError('realm', 'must be printable ASCII without " or \\');
  }
  let cacheMaxEntries = 0;
  if (o.cache !== false) {
    cacheMaxEntries = o.cache?.maxEntries ?? 10_000;
    if (!Number.isInteger(cacheMaxEntries) || cacheMaxEntries < 1 || cacheMaxEntries > 10_000_000) {
      throw new ResourceConfigError('cache.maxEntries', 'must be an integer between 1 and 10000000');
    }
  }
  const clockTolerance = seconds('clockTolerance', o.clockTolerance, 5, 0, 300);
  const maxTokenAge = o.maxTokenAge === undefined ? undefined : seconds('maxTokenAge', o.maxTokenAge, 0, 1, 366 * 86400);

  let introspection: NormalizedOptions['introspection'];
  if (o.introspection !== undefined) {
    const i = o.introspection;
    if (typeof i !== 'object' || i === null || typeof i.clientAuthentication !== 'object' || i.clientAuthentication === null) {
      throw new ResourceConfigError('introspection.clientAuthentication', 'is required');
    }
    const federated = (i.clientAuthentication as { method?: unknown }).method === 'federated_jwt'; // client_id optional (SPEC §9)
    if (!federated && (typeof i.clientAuthentication.clientId !== 'string' || i.clientAuthentication.clientId === '')) {
      throw new ResourceConfigError('introspection.clientAuthentication.clientId', 'is required');
    }
    checkClientCredentials(i.clientAuthentication);
    const endpoint = i.endpoint === undefined ? undefined : absoluteUrl('introspection.endpoint', i.endpoint);
    if (endpoint === undefined && discovery === false) throw new ResourceConfigError('introspection.endpoint', 'required when discovery is false');
    const maxEntries = i.maxEntries ?? 10_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new ResourceConfigError('introspection.maxEntries', 'must be a positive integer');
    const maxConcurrent = i.maxConcurrent ?? 64;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new ResourceConfigError('introspection.maxConcurrent', 'must be a positive integer');
    introspection = {
      clientAuthentication: i.clientAuthentication,
      endpoint,
      cacheTtl: seconds('introspection.cacheTtl', i.cacheTtl, 60, 0, 300),
      maxEntries,
      timeoutMs: seconds('introspection.timeout', i.timeout, 5, 0.1, 60) * 1000,
      requireAudience: i.requireAudience ?? true,
      maxConcurrent,
      checkJwts: i.checkJwts === true,
    };
  }

  let dpop: NormalizedOptions['dpop'];
  if (o.dpop !== false) {
    const d: DpopOptions = o.dpop === undefined || o.dpop === true ? {} : o.dpop;
    if (typeof d !== 'object' || d === null) throw new ResourceConfigError('dpop', 'must be a boolean or an object');
    const algs = algorithmList('dpop.algorithms', d.algorithms, DEFAULT_DPOP_ALGS);
    if (d.replayStore !== undefined && typeof d.replayStore?.checkAndStore !== 'function') {
      throw new ResourceConfigError('dpop.replayStore', 'must implement checkAndStore(key, expiresAt)');
    }
    dpop = {
      required: d.required === true,
      algorithms: new Set(algs),
      algsChallenge: algs.join(' '),
      maxAge: seconds('dpop.maxAge', d.maxAge, 60, 1, 600),
      replayStore: d.replayStore,
    };
  }
  const jwksMaxAgeMs = seconds('jwks.maxAge', o.jwks?.maxAge, 300, 1, 86400) * 1000;
  const timeoutMs = seconds('jwks.timeout', o.jwks?.timeout, 5, 0.1, 60) * 1000;
  const publicOrigin = o.publicOrigin === undefined ? undefined : new URL(absoluteUrl('publicOrigin', o.publicOrigin, false)).origin;
  if (o.trustedCertificateHeader !== undefined && (typeof o.trustedCertificateHeader !== 'string' || !/^[A-Za-z0-9-]+$/.test(o.trustedCertificateHeader))) {
    throw new ResourceConfigError('trustedCertificateHeader', 'must be a header name');
  }
  let trustedProxies: BlockList | undefined;
  if (o.trustedProxies !== undefined) {
    if (o.trustedCertificateHeader === undefined) throw new ResourceConfigError('trustedProxies', 'only meaningful with trustedCertificateHeader');
    if (!Array.isArray(o.trustedProxies)) throw new ResourceConfigError('trustedProxies', 'must be an array of IP addresses or CIDR ranges');
    trustedProxies = new BlockList();
    (o.trustedProxies as unknown[]).forEach((entry, i) => addProxy(trustedProxies!, entry, `trustedProxies[${i}]`));
  }
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new ResourceConfigError('fetch', 'must be a function');
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new ResourceConfigError('clock', 'must be a function');
  if (o.onError !== undefined && typeof o.onError !== 'function') throw new ResourceConfigError('onError', 'must be a function');

  return Object.freeze({
    issuer,
    audiences: Object.freeze([...audiences]),
    discovery,
    jwksUri,
    algorithms: Object.freeze(algorithms),
    algorithmSet: new Set(algorithms),
    typ,
    requiredClaims: Object.freeze([...new Set(requiredClaims)]),
    clockTolerance,
    maxTokenAge,
    maxTokenLength,
    realm: o.realm,
    cacheMaxEntries,
    jwksCooldownMs: seconds('jwks.cooldown', o.jwks?.cooldown, 30, 0, 3600) * 1000,
    jwksMaxAgeMs,
    // Callers past maxAge keep the keys in hand for one refresh's worth of time (its timeout), then wait.
    jwksGraceMs: Math.min(timeoutMs, jwksMaxAgeMs),
    timeoutMs,
    introspection,
    dpop,
    publicOrigin,
    trustedCertificateHeader: o.trustedCertificateHeader?.toLowerCase(),
    trustedProxies,
    fetch: o.fetch ?? ((input: string | URL, init?: RequestInit) => globalThis.fetch(input, init)),
    clock: o.clock ?? Date.now,
    onError: o.onError,
  });
}
