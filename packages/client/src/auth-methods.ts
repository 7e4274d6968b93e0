import { createPrivateKey, KeyObject, randomUUID, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { importJWK, SignJWT, type JWK } from 'jose';
import { LatchkeyClientError } from './errors.js';

type CryptoKey = webcrypto.CryptoKey;
type JsonWebKey = webcrypto.JsonWebKey;

/**
 * How a client authenticates to the token, introspection and revocation endpoints.
 *
 * - `client_secret_basic` / `client_secret_post`: RFC 6749 §2.3.1.
 * - `client_secret_jwt` / `private_key_jwt`: RFC 7523 §2.2 with the OpenID Connect Core §9 profile.
 * - `tls_client_auth` / `self_signed_tls_client_auth`: RFC 8705 §2; the certificate is presented by the
 *   TLS layer (a caller-supplied `dispatcher` or `fetch`), this only sends `client_id`.
 * - `federated_jwt`: a token the workload's platform issued (Kubernetes projected service-account
 *   token, SPIFFE JWT-SVID, GitHub Actions OIDC token) sent as the client assertion (Latchkey SPEC §9,
 *   RFC 7521 §4.2). `assertion` is called on every token request, so a file the platform refreshes is
 *   read fresh ({@link assertionFromFile}, {@link githubActionsAssertion}); `clientId` is optional —
 *   the server finds the client by the token's issuer and subject.
 */
export type ClientAuthentication =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; clientSecret: string }
  | { method: 'client_secret_jwt'; clientId: string; clientSecret: string; alg?: 'HS256' | 'HS384' | 'HS512' }
  | {
      method: 'private_key_jwt';
      clientId: string;
      privateKey: CryptoKey | KeyObject | JsonWebKey;
      alg?: string;
      kid?: string;
    }
  | { method: 'tls_client_auth' | 'self_signed_tls_client_auth'; clientId: string }
  | {
      method: 'federated_jwt';
      clientId?: string;
      /** Returns the platform's current token; called on every token request. */
      assertion: () => string | Promise<string>;
      /** `jwt-spiffe` for SPIFFE JWT-SVIDs (draft-ietf-oauth-spiffe-client-auth); default `jwt-bearer`. */
      assertionType?: 'jwt-bearer' | 'jwt-spiffe';
    };

/** The `token_endpoint_auth_method` names (RFC 7591 §2) this library implements. */
export type ClientAuthenticationMethod = ClientAuthentication['method'];

export const CLIENT_AUTHENTICATION_METHODS: readonly ClientAuthenticationMethod[] = Object.freeze([
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'federated_jwt',
]);

/** RFC 7523 §2.2 `client_assertion_type` value. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** draft-ietf-oauth-spiffe-client-auth `client_assertion_type` for JWT-SVIDs. */
export const JWT_SPIFFE_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';

/**
 * An assertion source for `federated_jwt` that reads a file on every call — a Kubernetes projected
 * service-account token (`/var/run/secrets/tokens/latchkey`), which the kubelet rewrites before it
 * expires, or a JWT-SVID written by spiffe-helper. Surrounding whitespace is removed.
 *
 * @example
 * ```ts
 * auth: { method: 'federated_jwt', assertion: assertionFromFile('/var/run/secrets/tokens/latchkey') }
 * ```
 */
export function assertionFromFile(path: string): () => Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw invalid('assertionFromFile', 'needs a file path');
  return async () => (await readFile(path, 'utf8')).trim();
}

/**
 * An assertion source for `federated_jwt` in a GitHub Actions job (`permissions: id-token: write`):
 * requests an OIDC token for `audience` — Latchkey's issuer identifier, which the server requires as
 * the token's sole `aud` — from `ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
 * Does not cache: every token request asks GitHub for a fresh token.
 */
export function githubActionsAssertion(audience: string, env: Readonly<Record<string, string | undefined>> = process.env, fetchImpl: typeof fetch = fetch): () => Promise<string> {
  if (typeof audience !== 'string' || audience.length === 0) throw invalid('githubActionsAssertion', "needs the audience (Latchkey's issuer identifier)");
  return async () => {
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !token) throw invalid('githubActionsAssertion', 'ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set (does the job have permissions: id-token: write?)');
    const u = new URL(url);
    u.searchParams.set('audience', audience);
    let res: Response;
    try {
      res = await fetchImpl(u, { headers: { authorization: `bearer ${token}`, accept: 'application/json' } });
    } catch (e) {
      throw new LatchkeyClientError('ERR_NETWORK', `GitHub Actions OIDC token request failed: ${(e as Error).message}`);
    }
    const body = (await res.json().catch(() => undefined)) as { value?: unknown } | undefined;
    if (res.status !== 200 || typeof body?.value !== 'string') throw new LatchkeyClientError('ERR_INVALID_RESPONSE', `GitHub Actions OIDC token request answered HTTP ${res.status} without a token`);
    return body.value;
  };
}

/** Lifetime of a client assertion: short, so a stolen one is useless soon (RFC 7523 §3 item 4). */
const ASSERTION_LIFETIME_SECONDS = 60;

/**
 * The `application/x-www-form-urlencoded` serialisation of one value, as RFC 6749 §2.3.1 requires
 * for each half of HTTP Basic credentials ("The client identifier is encoded using the
 * application/x-www-form-urlencoded encoding algorithm per Appendix B, and the encoded value is
 * used as the username; the client password is encoded using the same algorithm and used as the
 * password."). Space becomes `+`, `:` becomes `%3A`, `%` becomes `%25`, non-ASCII is UTF-8 percent-encoded.
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** The `Authorization` header value for `client_secret_basic` (RFC 6749 §2.3.1, RFC 7617). */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const pair = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

type SigningMaterial = { key: CryptoKey | KeyObject | Uint8Array; alg: string; kid: string | undefined };

// Imported keys are cached per authentication object, so repeated requests do not re-import a JWK.
const signingMaterialCache = new WeakMap<object, Promise<SigningMaterial>>();

function algForKeyObject(key: KeyObject): string | undefined {
  if (key.type !== 'private') return undefined;
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1' || curve === 'P-256') return 'ES256';
      if (curve === 'secp384r1' || curve === 'P-384') return 'ES384';
      if (curve === 'secp521r1' || curve === 'P-521') return 'ES512';
      return undefined;
    }
    case 'ed25519':
      return 'EdDSA';
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    default:
      return undefined;
  }
}

function algForCryptoKey(key: CryptoKey): string | undefined {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  switch (algorithm.name) {
    case 'ECDSA':
      return algorithm.namedCurve === 'P-256'
        ? 'ES256'
        : algorithm.namedCurve === 'P-384'
          ? 'ES384'
          : algorithm.namedCurve === 'P-521'
            ? 'ES512'
            : undefined;
    case 'Ed25519':
      return 'EdDSA';
    case 'RSASSA-PKCS1-v1_5':
      return `RS${(algorithm.hash?.name ?? 'SHA-256').slice(4)}`;
    case 'RSA-PSS':
      return `PS${(algorithm.hash?.name ?? 'SHA-256').slice(4)}`;
    default:
      return undefined;
  }
}

function algForJwk(jwk: JsonWebKey & { alg?: string }): string | undefined {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'EC') return jwk.crv === 'P-256' ? 'ES256' : jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : undefined;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  return undefined;
}

/**
 * Resolves (once per key) the key and algorithm used to sign with. Exported for the DPoP module.
 * @internal
 */
export async function resolvePrivateKey(
  privateKey: CryptoKey | KeyObject | JsonWebKey,
  explicitAlg: string | undefined,
  explicitKid: string | undefined,
): Promise<SigningMaterial> {
  if (typeof privateKey !== 'object' || privateKey === null) {
    throw new LatchkeyClientError('ERR_INVALID_KEY', 'private key: need a private KeyObject, CryptoKey or JWK');
  }
  if (privateKey instanceof KeyObject) {
    const alg = explicitAlg ?? algForKeyObject(privateKey);
    if (!alg || privateKey.type !== 'private') {
      throw new LatchkeyClientError('ERR_INVALID_KEY', 'private key: need an asymmetric private key with a known algorithm (set alg)');
    }
    return { key: privateKey, alg, kid: explicitKid };
  }
  if (typeof (privateKey as CryptoKey).algorithm === 'object' && typeof (privateKey as CryptoKey).type === 'string') {
    const key = privateKey as CryptoKey;
    const alg = explicitAlg ?? algForCryptoKey(key);
    if (!alg || key.type !== 'private') {
      throw new LatchkeyClientError('ERR_INVALID_KEY', 'private key: need an asymmetric private CryptoKey with a known algorithm (set alg)');
    }
    return { key, alg, kid: explicitKid };
  }
  const jwk = privateKey as JsonWebKey & { alg?: string; kid?: string };
  const alg = explicitAlg ?? algForJwk(jwk);
  if (!alg || typeof jwk.d !== 'string') {
    throw new LatchkeyClientError('ERR_INVALID_KEY', 'private key: need a private JWK (with "d") and a known algorithm (set alg)');
  }
  try {
    const key = await importJWK(jwk as JWK, alg);
    return { key, alg, kid: explicitKid ?? jwk.kid };
  } catch (cause) {
    throw new LatchkeyClientError('ERR_INVALID_KEY', 'private key: the JWK cannot be imported for the chosen algorithm', { cause });
  }
}

/** JWS algorithms a client can sign assertions or DPoP proofs with (RFC 7518 §3, RFC 8037, RFC 9864); never HMAC or `none` here. */
const ASYMMETRIC_ALGS = new Set(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']);
const CURVE_ALG: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

function invalid(path: string, reason: string): LatchkeyClientError {
  return new LatchkeyClientError('ERR_INVALID_OPTIONS', `${path}: ${reason}`);
}

/** Whether `key` (private, asymmetric) can produce `alg` signatures (RFC 7518 §3.3: RSA keys of 2048 bits or more). */
function keyFitsAlg(key: KeyObject, alg: string): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('ES')) return type === 'ec' && CURVE_ALG[key.asymmetricKeyDetails?.namedCurve ?? ''] === alg;
  if (alg === 'EdDSA' || alg === 'Ed25519') return type === 'ed25519';
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    return (type === 'rsa' || (type === 'rsa-pss' && alg.startsWith('PS'))) && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  }
  return false;
}

/** A WebCrypto key's algorithm fixes the JWS algorithm it can sign (its hash and curve are part of it). */
function cryptoKeyFitsAlg(key: CryptoKey, alg: string): boolean {
  const inferred = algForCryptoKey(key);
  return inferred === alg || (inferred === 'EdDSA' && alg === 'Ed25519');
}

/**
 * Checks, synchronously, that `privateKey` is an asymmetric private key (KeyObject, CryptoKey or
 * private JWK) that can sign `alg` (given, or inferred from the key). Throws ERR_INVALID_OPTIONS
 * naming `keyPath` or `algPath`. Shared by the constructor checks of `auth` and `dpop`.
 * @internal
 */
export function checkSigningKey(privateKey: unknown, explicitAlg: unknown, keyPath: string, algPath: string): void {
  if (explicitAlg !== undefined && (typeof explicitAlg !== 'string' || !ASYMMETRIC_ALGS.has(explicitAlg))) {
    throw invalid(algPath, `must be one of ${[...ASYMMETRIC_ALGS].join(', ')}`);
  }
  if (typeof privateKey !== 'object' || privateKey === null) throw invalid(keyPath, 'is required: a private KeyObject, CryptoKey or JWK');
  if (privateKey instanceof KeyObject) {
    if (privateKey.type !== 'private') throw invalid(keyPath, `must be a private key, not a ${privateKey.type} one`);
    const alg = explicitAlg ?? algForKeyObject(privateKey);
    if (alg === undefined || !keyFitsAlg(privateKey, alg)) {
      if (explicitAlg !== undefined && keyFitsAny(privateKey)) throw invalid(algPath, `${explicitAlg} does not fit a ${describe(privateKey)} key`);
      throw invalid(keyPath, `a ${describe(privateKey)} key cannot sign any supported JWS algorithm`);
    }
    return;
  }
  const maybeCryptoKey = privateKey as CryptoKey;
  if (typeof maybeCryptoKey.algorithm === 'object' && typeof maybeCryptoKey.type === 'string') {
    if (maybeCryptoKey.type !== 'private' || !maybeCryptoKey.usages.includes('sign')) throw invalid(keyPath, 'must be a private CryptoKey usable for "sign"');
    const inferred = algForCryptoKey(maybeCryptoKey);
    if (inferred === undefined) throw invalid(keyPath, `a ${maybeCryptoKey.algorithm.name} CryptoKey cannot sign any supported JWS algorithm`);
    if (explicitAlg !== undefined && !cryptoKeyFitsAlg(maybeCryptoKey, explicitAlg)) throw invalid(algPath, `${explicitAlg} does not fit this CryptoKey (it signs ${inferred})`);
    return;
  }
  const jwk = privateKey as JsonWebKey & { alg?: unknown };
  if (typeof jwk.d !== 'string') throw invalid(keyPath, 'must be a private key (a JWK needs "d")');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw invalid(keyPath, 'is not a usable private JWK');
  }
  const alg = explicitAlg ?? (typeof jwk.alg === 'string' ? jwk.alg : algForKeyObject(key));
  if (alg === undefined || !keyFitsAlg(key, alg)) {
    if (alg !== undefined && keyFitsAny(key)) throw invalid(algPath, `${alg} does not fit a ${describe(key)} key${explicitAlg === undefined ? ' (alg from the JWK)' : ''}`);
    throw invalid(keyPath, `a ${describe(key)} key cannot sign any supported JWS algorithm`);
  }
}

function keyFitsAny(key: KeyObject): boolean {
  for (const alg of ASYMMETRIC_ALGS) if (keyFitsAlg(key, alg)) return true;
  return false;
}

function describe(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  return [key.asymmetricKeyType ?? key.type, d?.namedCurve, d?.modulusLength ? `${d.modulusLength}-bit` : undefined].filter(Boolean).join(' ');
}

/**
 * Validates a {@link ClientAuthentication} synchronously — what `new TokenClient()` calls, so a
 * missing secret, a public or unusable key, or an `alg` the key cannot sign is an
 * `ERR_INVALID_OPTIONS` naming the option (`auth.clientSecret`, `auth.privateKey`, `auth.alg`, …)
 * at construction, not a failure at the first request. Does not contact the server.
 */
export function validateClientAuthentication(auth: unknown, path = 'auth'): asserts auth is ClientAuthentication {
  if (typeof auth !== 'object' || auth === null) throw invalid(path, 'is required ({ method, clientId, … })');
  const a = auth as Record<string, unknown>;
  if (!CLIENT_AUTHENTICATION_METHODS.includes(a.method as ClientAuthenticationMethod)) {
    throw invalid(`${path}.method`, `must be one of ${CLIENT_AUTHENTICATION_METHODS.join(', ')}`);
  }
  if (a.method === 'federated_jwt') {
    if (a.clientId !== undefined && (typeof a.clientId !== 'string' || a.clientId.length === 0)) throw invalid(`${path}.clientId`, 'must be a non-empty string when given');
    if (typeof a.assertion !== 'function') throw invalid(`${path}.assertion`, 'is required for federated_jwt (a function returning the platform token, e.g. assertionFromFile(path))');
    if (a.assertionType !== undefined && a.assertionType !== 'jwt-bearer' && a.assertionType !== 'jwt-spiffe') throw invalid(`${path}.assertionType`, 'must be jwt-bearer or jwt-spiffe');
    return;
  }
  if (typeof a.clientId !== 'string' || a.clientId.length === 0) throw invalid(`${path}.clientId`, 'is required (a non-empty string)');
  switch (a.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
    case 'client_secret_jwt':
      if (typeof a.clientSecret !== 'string' || a.clientSecret.length === 0) throw invalid(`${path}.clientSecret`, `is required for ${a.method} (a non-empty string)`);
      if (a.method === 'client_secret_jwt' && a.alg !== undefined && a.alg !== 'HS256' && a.alg !== 'HS384' && a.alg !== 'HS512') {
        throw invalid(`${path}.alg`, 'client_secret_jwt signs HS256, HS384 or HS512');
      }
      return;
    case 'private_key_jwt':
      if (a.kid !== undefined && (typeof a.kid !== 'string' || a.kid.length === 0)) throw invalid(`${path}.kid`, 'must be a non-empty string');
      checkSigningKey(a.privateKey, a.alg, `${path}.privateKey`, `${path}.alg`);
      return;
    default:
      return; // tls_client_auth, self_signed_tls_client_auth: the certificate is the transport's (RFC 8705 §2).
  }
}

function signingMaterialFor(auth: Extract<ClientAuthentication, { method: 'client_secret_jwt' | 'private_key_jwt' }>): Promise<SigningMaterial> {
  let cached = signingMaterialCache.get(auth);
  if (!cached) {
    if (auth.method === 'client_secret_jwt') {
      const alg = auth.alg ?? 'HS256';
      if (alg !== 'HS256' && alg !== 'HS384' && alg !== 'HS512') {
        cached = Promise.reject(new LatchkeyClientError('ERR_INVALID_OPTIONS', 'client_secret_jwt: alg must be HS256, HS384 or HS512'));
      } else {
        // RFC 7518 §3.2: the HMAC key is the octets of the UTF-8 representation of the secret.
        cached = Promise.resolve({ key: new TextEncoder().encode(auth.clientSecret), alg, kid: undefined });
      }
    } else {
      cached = resolvePrivateKey(auth.privateKey, auth.alg, auth.kid);
    }
    // Do not cache failures: a caller may fix the key object and try again.
    cached.catch(() => signingMaterialCache.delete(auth));
    signingMaterialCache.set(auth, cached);
  }
  return cached;
}

/** A fresh `jti`: a random (v4) UUID, 122 random bits from the CSPRNG (node's buffered entropy: cheap per call). */
export function randomJti(): string {
  return randomUUID();
}

/**
 * Builds an RFC 7523 client assertion: `iss` = `sub` = client_id (RFC 7523 §3 items 1-2), `aud` =
 * the authorization server's issuer identifier as a single string (draft-ietf-oauth-rfc7523bis, which
 * closes the 2025 audience-injection attacks), `exp` 60 s ahead, a unique `jti` and `iat`.
 */
export async function createClientAssertion(
  auth: Extract<ClientAuthentication, { method: 'client_secret_jwt' | 'private_key_jwt' }>,
  audience: string,
): Promise<string> {
  const material = await signingMaterialFor(auth);
  const now = Math.floor(Date.now() / 1000);
  const header: { alg: string; typ: string; kid?: string } = { alg: material.alg, typ: 'JWT' };
  if (material.kid !== undefined) header.kid = material.kid;
  try {
    return await new SignJWT({})
      .setProtectedHeader(header)
      .setIssuer(auth.clientId)
      .setSubject(auth.clientId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
      .setJti(randomJti())
      .sign(material.key);
  } catch (cause) {
    throw new LatchkeyClientError('ERR_INVALID_KEY', `${auth.method}: signing the client assertion failed`, { cause });
  }
}

/**
 * Adds client authentication to a token, introspection (RFC 7662 §2.1) or revocation (RFC 7009 §2.1)
 * request, in place.
 *
 * - `client_secret_basic`: `Authorization: Basic` with client_id and secret each form-url-encoded
 *   before base64 (RFC 6749 §2.3.1).
 * - `client_secret_post`: `client_id` and `client_secret` in the body (RFC 6749 §2.3.1).
 * - `client_secret_jwt` / `private_key_jwt`: `client_assertion_type` + `client_assertion`
 *   (RFC 7523 §2.2) and `client_id` (allowed by RFC 7521 §4.2).
 * - `tls_client_auth` / `self_signed_tls_client_auth`: `client_id` only (RFC 8705 §2); the TLS
 *   client certificate must be configured on the transport.
 *
 * @param audience the authorization server's issuer identifier (used as the assertion `aud`).
 *
 * Does not check that the server supports the method (see `token_endpoint_auth_methods_supported`),
 * does not validate the secret or key against the server, and does not remove parameters set earlier.
 *
 * @example
 * ```ts
 * const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
 * const body = new URLSearchParams({ token });
 * await applyClientAuthentication({ method: 'client_secret_basic', clientId, clientSecret }, issuer, headers, body);
 * await fetch(introspectionEndpoint, { method: 'POST', headers, body });
 * ```
 */
export async function applyClientAuthentication(
  auth: ClientAuthentication,
  audience: string,
  headers: Headers,
  body: URLSearchParams,
): Promise<void> {
  if (auth?.method === 'federated_jwt') {
    let assertion: unknown;
    try {
      assertion = await auth.assertion();
    } catch (e) {
      if (e instanceof LatchkeyClientError) throw e;
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `federated_jwt: the assertion source failed: ${(e as Error)?.message ?? String(e)}`);
    }
    if (typeof assertion !== 'string' || assertion.length === 0) throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'federated_jwt: the assertion source returned no token');
    // RFC 7521 §4.2: client_id is optional with an assertion; the server maps the token to its client.
    if (auth.clientId !== undefined) body.set('client_id', auth.clientId);
    body.set('client_assertion_type', auth.assertionType === 'jwt-spiffe' ? JWT_SPIFFE_ASSERTION_TYPE : JWT_BEARER_ASSERTION_TYPE);
    body.set('client_assertion', assertion);
    return;
  }
  if (!auth || typeof auth.clientId !== 'string' || auth.clientId.length === 0) {
    throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'client authentication: clientId is required');
  }
  switch (auth.method) {
    case 'client_secret_basic':
      requireSecret(auth.clientSecret, auth.method);
      headers.set('authorization', basicAuthorization(auth.clientId, auth.clientSecret));
      return;
    case 'client_secret_post':
      requireSecret(auth.clientSecret, auth.method);
      body.set('client_id', auth.clientId);
      body.set('client_secret', auth.clientSecret);
      return;
    case 'client_secret_jwt':
    case 'private_key_jwt': {
      if (auth.method === 'client_secret_jwt') requireSecret(auth.clientSecret, auth.method);
      if (typeof audience !== 'string' || audience.length === 0) {
        throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `${auth.method}: the issuer identifier (assertion audience) is required`);
      }
      const assertion = await createClientAssertion(auth, audience);
      body.set('client_id', auth.clientId);
      body.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
      body.set('client_assertion', assertion);
      return;
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      // RFC 8705 §2: "the client_id parameter ... is REQUIRED" in requests authenticated with mTLS.
      body.set('client_id', auth.clientId);
      return;
    default:
      throw new LatchkeyClientError(
        'ERR_INVALID_OPTIONS',
        `client authentication: unsupported method ${JSON.stringify((auth as { method: unknown }).method)}`,
      );
  }
}

function requireSecret(secret: unknown, method: string): void {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new LatchkeyClientError('ERR_INVALID_OPTIONS', `${method}: clientSecret is required`);
  }
}
