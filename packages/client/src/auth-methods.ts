import { KeyObject, randomUUID, type webcrypto } from 'node:crypto';
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
  | { method: 'tls_client_auth' | 'self_signed_tls_client_auth'; clientId: string };

/** The `token_endpoint_auth_method` names (RFC 7591 §2) this library implements. */
export type ClientAuthenticationMethod = ClientAuthentication['method'];

export const CLIENT_AUTHENTICATION_METHODS: readonly ClientAuthenticationMethod[] = Object.freeze([
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
]);

/** RFC 7523 §2.2 `client_assertion_type` value. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

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
    return { key: key as CryptoKey | Uint8Array, alg, kid: explicitKid ?? jwk.kid };
  } catch (cause) {
    throw new LatchkeyClientError('ERR_INVALID_KEY', 'private key: the JWK cannot be imported for the chosen algorithm', { cause });
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
