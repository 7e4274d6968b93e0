import { randomBytes, type KeyObject } from 'node:crypto';
import { HMAC_MIN_KEY_BYTES as CORE_HMAC_MIN_KEY_BYTES, JoseError, parseCompactJws, type ParsedJws } from '@latchkey/jose-core';
import { errors as joseErrors, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { invalidClient, invalidRequest } from '../shared/errors.js';
import { secretAad, secretRowAad } from './secret-hash.js';
import type { FormParams, OAuthRequest } from '../shared/oauth-request.js';
import type { CachedClient } from '../store/client-cache.js';
import type { ClientRecord, ClientSecretRecord } from '../store/types.js';
import { ASYMMETRIC_ALGS, ClientKeyError } from './client-jwks.js';
import { DummyAssertionVerifier } from './equal-work.js';
import type { AuthContext, AuthenticatedClient, ClientAuthenticator } from './types.js';
import { KEY_LOCATING_HEADERS } from '../tokens/compact.js';
import { handlesJws, verifyJwsSignature } from '../tokens/jws-verify.js';

/** RFC 7523 §2.2: the only client_assertion_type this server accepts. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** private_key_jwt algorithms (asymmetric only: an HMAC never verifies against a public key). */
export const PRIVATE_KEY_JWT_ALGS: readonly string[] = ASYMMETRIC_ALGS;

/**
 * client_secret_jwt algorithms and the shortest key each may use. RFC 7518 §3.2: "A key of the same
 * size as the hash output (for instance, 256 bits for "HS256") or larger MUST be used with this
 * algorithm." The key is the UTF-8 octets of the client secret (OpenID Connect Core §9); Latchkey's
 * generated secrets are 43 octets, so with them only HS256 qualifies.
 */
export const HMAC_MIN_KEY_BYTES: Readonly<Record<string, number>> = CORE_HMAC_MIN_KEY_BYTES;

/** HMAC algorithms that Latchkey-generated secrets satisfy (advertised in metadata). */
export const CLIENT_SECRET_JWT_ALGS: readonly string[] = ['HS256'];

/** Longest client_assertion accepted, in characters (a 4096-bit RSA assertion is under 1.5 kB). */
export const MAX_ASSERTION_LENGTH = 8192;

/**
 * Explicit typing (RFC 8725 §3.11): absent, "JWT" (what most clients send), or the type that
 * draft-ietf-oauth-rfc7523bis defines for client authentication JWTs. Any other typ (at+jwt,
 * dpop+jwt, …) is a JWT made for something else and is refused.
 */
const ACCEPTED_TYP = new Set(['jwt', 'application/jwt', 'client-authentication+jwt', 'application/client-authentication+jwt']);

/** Unsealed HMAC keys, per secret row object (a refreshed client brings new objects, so new unseals). */
const secretKeys = new WeakMap<ClientSecretRecord, Uint8Array | null>();
/** The same for the legacy per-client value (`clients.secret_sealed`), per client record. */
const legacyKeys = new WeakMap<ClientRecord, Uint8Array | null>();
const DUMMY_HMAC_KEY = new Uint8Array(randomBytes(64));

/**
 * HMAC CryptoKeys by secret and alg: jose would import a raw secret on every verification (about half
 * the cost of an HS256 check). Unknown clients use the cached dummy the same way, so timing stays equal.
 */
const hmacCryptoKeys = new WeakMap<Uint8Array, Map<string, Promise<CryptoKey>>>();
function hmacCryptoKey(secret: Uint8Array, alg: string): Promise<CryptoKey> {
  let byAlg = hmacCryptoKeys.get(secret);
  if (!byAlg) hmacCryptoKeys.set(secret, (byAlg = new Map<string, Promise<CryptoKey>>()));
  let k = byAlg.get(alg);
  if (!k) {
    k = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['verify']);
    byAlg.set(alg, k);
  }
  return k;
}

/** Most secrets a client_secret_jwt assertion is tried against (a rotation with grace makes two). */
export const MAX_HMAC_CANDIDATES = 5;

function unseal(ctx: AuthContext, sealed: string, aads: string[]): Uint8Array | null {
  for (const aad of aads) {
    try {
      return new Uint8Array(ctx.sealer.open(sealed, aad));
    } catch {
      // Next AAD; none opening means a wrong key-encryption key or a value that does not belong here.
    }
  }
  return null;
}

/**
 * The HMAC keys of a client_secret_jwt client (SPEC §3): every unexpired secret's, newest first, each
 * unsealed once per secret row and cached. Expired secrets are never candidates — the same expiry
 * client_secret_basic/post honour, so `rotate-secret --grace` keeps the old secret valid for its grace
 * period here too.
 *
 * A row's value opens with its row-bound AAD ({@link secretRowAad}); a value that migration 0003 copied
 * from `clients.secret_sealed` has the legacy client-bound AAD ({@link secretAad}), tried second. That
 * legacy value can still be moved between rows of the same client by someone who can write the
 * database — who could as well change those rows' `expires_at` — but never to another client. The
 * newest secret without a sealed value of its own (written by a pre-0003 node during a rolling
 * upgrade) falls back to `clients.secret_sealed`, which such nodes still maintain.
 */
function hmacKeys(ctx: AuthContext, c: CachedClient): Uint8Array[] {
  const now = Date.now();
  const live = c.secrets
    .filter((s) => s.expires_at == null || s.expires_at > now)
    .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  if (live.length === 0) throw invalidClient('client secret expired');
  const newest = c.secrets.reduce((a, b) => (b.created_at > a.created_at || (b.created_at === a.created_at && b.id > a.id) ? b : a));
  const keys: Uint8Array[] = [];
  for (const s of live.slice(0, MAX_HMAC_CANDIDATES)) {
    let k: Uint8Array | null | undefined;
    if (s.secret_sealed) {
      k = secretKeys.get(s);
      if (k === undefined) secretKeys.set(s, (k = unseal(ctx, s.secret_sealed, [secretRowAad(c.record.client_id, s.id), secretAad(c.record.client_id)])));
    } else if (s === newest && c.record.secret_sealed) {
      k = legacyKeys.get(c.record);
      if (k === undefined) legacyKeys.set(c.record, (k = unseal(ctx, c.record.secret_sealed, [secretAad(c.record.client_id)])));
    }
    if (k) keys.push(k);
  }
  if (keys.length === 0) throw invalidClient('client_secret_jwt client without a sealed secret that opens (wrong key-encryption key?)');
  return keys;
}

/**
 * The `aud` rule (SPEC §3). draft-ietf-oauth-rfc7523bis, the fix for the 2025 audience-injection
 * attacks: the audience of a client authentication JWT is the authorization server's issuer
 * identifier (RFC 8414) as its sole value, and the server rejects any other value. Latchkey accepts it
 * as a JSON string or as an array holding exactly that one string (compared with simple string
 * comparison, RFC 8414 §2). The token endpoint URL is accepted only with the legacy opt-in setting
 * `allowTokenEndpointAudience`; never a list of several audiences, where an attacker's value could hide.
 */
export function assertionAudienceOk(aud: unknown, issuer: string, allowTokenEndpoint: boolean): boolean {
  const v: unknown = Array.isArray(aud) ? (aud.length === 1 ? aud[0] : undefined) : aud;
  if (typeof v !== 'string') return false;
  return v === issuer || (allowTokenEndpoint && v === `${issuer}/oauth2/token`);
}

/**
 * The claim checks jose's jwtVerify makes with these options, for the node:crypto path: a JSON object
 * payload, the required claims, numeric dates, `exp` not passed and `nbf` not ahead beyond the skew.
 */
function checkClaims(jwt: string, skew: number): JWTPayload {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
  } catch {
    throw invalidClient('client assertion rejected: ERR_JWT_INVALID: payload is not JSON');
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalidClient('client assertion rejected: ERR_JWT_INVALID: payload is not an object');
  const c = p as JWTPayload;
  for (const k of ['iss', 'sub', 'aud', 'exp', 'jti'] as const) if (c[k] === undefined) throw invalidClient(`client assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED: missing ${k}`);
  const now = Math.floor(Date.now() / 1000);
  for (const k of ['exp', 'nbf', 'iat'] as const) {
    if (c[k] !== undefined && (typeof c[k] !== 'number' || !Number.isFinite(c[k]))) throw invalidClient(`client assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED: ${k} is not a number`);
  }
  if (c.exp! <= now - skew) throw invalidClient('client assertion rejected: ERR_JWT_EXPIRED');
  if (c.nbf !== undefined && c.nbf > now + skew) throw invalidClient('client assertion rejected: ERR_JWT_CLAIM_VALIDATION_FAILED: nbf in the future');
  return c;
}

async function verifyWithAny(jwt: string, keys: (CryptoKey | KeyObject | Uint8Array)[], alg: string, skew: number): Promise<JWTPayload> {
  // Asymmetric algorithms: node:crypto, synchronously (tokens/jws-verify.ts). crit is refused: we
  // understand no extension, and RFC 7515 §4.1.11 says a recipient that does not must reject.
  const first = keys[0];
  if (first !== undefined && handlesJws(alg, first)) {
    for (const key of keys) if (verifyJwsSignature(jwt, alg, key)) return checkClaims(jwt, skew);
    throw invalidClient('client assertion rejected: ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  }
  let last: unknown;
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(jwt, key, {
        algorithms: [alg],
        clockTolerance: skew,
        // RFC 7523 §3: iss, sub, aud and exp are required; jti because we enforce single use.
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      });
      return payload;
    } catch (e) {
      last = e;
      // Only a bad signature is worth trying the next key for; any claim failure is final.
      if (!(e instanceof joseErrors.JWSSignatureVerificationFailed)) break;
    }
  }
  const code = (last as { code?: string })?.code ?? 'ERR_UNKNOWN';
  throw invalidClient(`client assertion rejected: ${code}: ${(last as Error)?.message ?? ''}`);
}

/**
 * `private_key_jwt` and `client_secret_jwt` (RFC 7523 §2.2 and §3, OpenID Connect Core §9).
 *
 * Checks, in order: `client_assertion_type`; the JWS header (`alg` allowed for the client's registered
 * method, `typ`); the client (`sub`) exists, is enabled and registered for this method; the signature
 * with the client's registered keys or sealed secret; `iss` = `sub` = client_id; `aud` (see
 * {@link assertionAudienceOk}); `exp` required and at most `assertionMaxLifetime` ahead; `nbf`/`iat`
 * not in the future beyond `clockSkew`; `jti` single-use until `exp` across every node sharing the store.
 * Every failure is `401 invalid_client` with the same description; the reason goes to the log only.
 *
 * Does not check: `client_assertion` JWE (encrypted assertions are refused), per-client signing
 * algorithm registration (`token_endpoint_auth_signing_alg` is not stored), certificate chains in
 * registered keys.
 */
export function jwtAssertion(ctx: AuthContext): ClientAuthenticator {
  // RFC 8414 §2: the signing algorithms "MUST be present if either of these authentication methods
  // [private_key_jwt, client_secret_jwt] are specified" in the endpoint's auth methods. The introspection
  // and revocation endpoints authenticate clients with the same authenticators, hence the same values.
  const algs = [...PRIVATE_KEY_JWT_ALGS, ...CLIENT_SECRET_JWT_ALGS];
  const dummy = new DummyAssertionVerifier();
  return {
  kind: 'assertion',
  methods: ['private_key_jwt', 'client_secret_jwt'],
  metadata: {
    token_endpoint_auth_signing_alg_values_supported: algs,
    introspection_endpoint_auth_signing_alg_values_supported: algs,
    revocation_endpoint_auth_signing_alg_values_supported: algs,
  },
  present(_req, params) {
    return params.has('client_assertion') || params.has('client_assertion_type');
  },
  async authenticate(_req: OAuthRequest, params: FormParams): Promise<AuthenticatedClient> {
    const type = params.get('client_assertion_type');
    const assertion = params.get('client_assertion');
    if (assertion === undefined) throw invalidRequest('client_assertion is required with client_assertion_type');
    if (type === undefined) throw invalidRequest('client_assertion_type is required with client_assertion');
    // RFC 7523 §2.2: "The value of the "client_assertion_type" is "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"."
    if (type !== CLIENT_ASSERTION_TYPE) throw invalidRequest(`client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
    if (assertion.length > MAX_ASSERTION_LENGTH) throw invalidClient('client assertion too long');

    let jws: ParsedJws;
    try {
      // @latchkey/jose-core's one parser: canonical compact JWS (RFC 7515 §7.1), JSON-object header and
      // payload without __proto__, `crit` refused (RFC 7515 §4.1.11), `b64` only true (RFC 7797).
      jws = parseCompactJws(assertion, MAX_ASSERTION_LENGTH);
    } catch (e) {
      if (!(e instanceof JoseError)) throw e;
      throw invalidClient(`client assertion is not a canonical signed JWT: ${e.code}: ${e.message}`);
    }
    const header = jws.header;
    const unverified = jws.payload;
    const alg = header.alg;
    const clientId = unverified.sub;
    if (typeof alg !== 'string' || typeof clientId !== 'string' || clientId.length > 256) throw invalidClient('client assertion without alg or sub');
    const c = ctx.clients.get(clientId);
    if (!c) {
      // Same HMAC work as a wrong secret, so unknown ids cost the same time (SPEC §3).
      if (Object.hasOwn(HMAC_MIN_KEY_BYTES, alg)) await verifyWithAny(assertion, [await hmacCryptoKey(DUMMY_HMAC_KEY, alg)], alg, 0).catch(() => {});
      // …and the same signature work as a known private_key_jwt client (issue #14: no enumeration by timing).
      else dummy.verify(assertion, alg);
      throw invalidClient('unknown client');
    }
    if (c.record.disabled) throw invalidClient('client disabled');
    const method = c.record.token_endpoint_auth_method;
    // SPEC §3: each client is registered with exactly one method; any other is invalid_client.
    if (method !== 'private_key_jwt' && method !== 'client_secret_jwt') throw invalidClient(`client is registered for ${method}`);
    if (header.kid !== undefined && typeof header.kid !== 'string') throw invalidClient('kid must be a string');
    if (header.typ !== undefined && (typeof header.typ !== 'string' || !ACCEPTED_TYP.has(header.typ.toLowerCase()))) throw invalidClient(`client assertion typ ${typeof header.typ === 'string' ? header.typ : typeof header.typ} refused`);
    // RFC 8725 §3.10: keys come only from the client's registration, never from the token itself.
    for (const h of KEY_LOCATING_HEADERS) if (h in header) throw invalidClient(`client assertion header ${h} refused`);

    let keys: (CryptoKey | KeyObject | Uint8Array)[];
    if (method === 'client_secret_jwt') {
      // Never `none`, never an asymmetric alg with the secret: HS256/384/512 only.
      const min = Object.hasOwn(HMAC_MIN_KEY_BYTES, alg) ? HMAC_MIN_KEY_BYTES[alg] : undefined;
      if (min === undefined) throw invalidClient(`alg ${alg} not allowed for client_secret_jwt`);
      // RFC 7518 §3.2: the key must be at least as long as the hash output.
      const usable = hmacKeys(ctx, c).filter((k) => k.byteLength >= min);
      if (usable.length === 0) throw invalidClient(`client secret too short for ${alg} (RFC 7518 §3.2)`);
      // Every unexpired secret, newest first; verifyWithAny moves to the next only on a bad signature,
      // and its error never says which secret was tried or matched.
      keys = await Promise.all(usable.map((k) => hmacCryptoKey(k, alg)));
    } else {
      // Asymmetric only: an HS256 "signature" made with the public key as HMAC secret never gets here.
      if (!PRIVATE_KEY_JWT_ALGS.includes(alg)) throw invalidClient(`alg ${alg} not allowed for private_key_jwt`);
      try {
        keys = await ctx.clientKeys.verificationKeys(c, alg, header.kid);
      } catch (e) {
        if (e instanceof ClientKeyError) throw invalidClient(`${e.code}: ${e.message}`);
        throw e;
      }
    }

    const skew = ctx.config.clockSkew;
    const p = await verifyWithAny(assertion, keys, alg, skew);
    // RFC 7523 §3: "The JWT MUST contain an "iss" (issuer) claim that contains a unique identifier for
    // the entity that issued the JWT" — for client authentication, the client_id (§2.2, OIDC Core §9).
    if (p.iss !== clientId || p.sub !== clientId) throw invalidClient('iss and sub must both be the client_id');
    // draft-ietf-oauth-rfc7523bis: the issuer identifier as the sole audience value.
    if (!assertionAudienceOk(p.aud, ctx.config.issuer, ctx.config.allowTokenEndpointAudience)) throw invalidClient('aud is not the issuer identifier as its sole value');
    const now = Math.floor(Date.now() / 1000);
    const exp = p.exp!;
    // RFC 7523 §3: "The authorization server MAY reject JWTs with an "exp" claim value that is
    // unreasonably far in the future." Bounded so the jti replay window stays bounded too.
    const max = ctx.config.assertionMaxLifetime + skew;
    if (exp - now > max) throw invalidClient('exp too far in the future');
    if (p.iat !== undefined) {
      if (p.iat > now + skew) throw invalidClient('iat in the future');
      if (exp - p.iat > max) throw invalidClient('assertion lifetime (exp - iat) too long');
    }
    const jti = p.jti;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalidClient('jti must be a string of 1 to 256 characters');
    // RFC 7523 §3: "The authorization server MAY ensure that JWTs are not replayed by maintaining the
    // set of used "jti" values for the length of time for which the JWT would be considered valid".
    // Checked last, after the signature, so a forged assertion cannot burn a legitimate jti.
    if (!(await ctx.useOnce(`assertion:${clientId}:${jti}`, exp + skew))) throw invalidClient('client assertion jti replayed');
    return { client: c, method };
  },
  };
}
