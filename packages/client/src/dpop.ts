import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, type webcrypto } from 'node:crypto';
import { accessTokenHash, createSigner, JoseError, jwkThumbprint, signingAlgFor, validatePublicJwk } from '@latchkey/jose-core';
import type { JWK } from 'jose';
import { randomJti } from './auth-methods.js';
import { LatchkeyClientError } from './errors.js';

type CryptoKey = webcrypto.CryptoKey;
type JsonWebKey = webcrypto.JsonWebKey;

/** A DPoP key pair supplied by the caller (RFC 9449 §4.2: the proof carries the public key as `jwk`). */
export interface DPoPKeyInput {
  /** The private key proofs are signed with (an asymmetric key: EC, Ed25519 or RSA). */
  privateKey: CryptoKey | KeyObject | JsonWebKey;
  /** The public key; optional, as it is derived from the private key. */
  publicKey?: CryptoKey | KeyObject | JsonWebKey;
  /** JWS algorithm; inferred from the key when omitted (ES256 for P-256, EdDSA for Ed25519, RS256 for RSA). */
  alg?: string;
}

type Signer = (data: Buffer) => Buffer;

function toKeyObject(key: CryptoKey | KeyObject | JsonWebKey): KeyObject {
  if (key instanceof KeyObject) return key;
  if (typeof (key as CryptoKey).algorithm === 'object' && typeof (key as CryptoKey).type === 'string') {
    return KeyObject.from(key as CryptoKey);
  }
  return createPrivateKey({ key: key as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
}

/**
 * Picks the JWS algorithm and a synchronous node:crypto signer for a private key from
 * `@latchkey/jose-core`'s DPoP table (RFC 7518 §3; RFC 9449 §4.2: never `none` or a MAC) — the same
 * table the server and `@latchkey/resource` verify against.
 */
function signerFor(key: KeyObject, requested: string | undefined): { alg: string; sign: Signer } {
  try {
    const alg = signingAlgFor(key, requested);
    return { alg, sign: createSigner(key, alg) };
  } catch (e) {
    if (e instanceof JoseError) throw new LatchkeyClientError('ERR_INVALID_KEY', `dpop: ${e.message}; symmetric algorithms are not allowed (RFC 9449 §4.2)`);
    throw e;
  }
}

/**
 * Signs DPoP proofs (RFC 9449 §4) with one key pair, and remembers the latest `DPoP-Nonce`
 * (RFC 9449 §8, §9) per origin. Proofs are signed synchronously with node:crypto; the protected
 * header is encoded once.
 */
export class DPoPSigner {
  readonly alg: string;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` a server binds tokens to (RFC 9449 §6.1). */
  readonly jkt: string;
  private readonly signData: Signer;
  private readonly encodedHeader: string;
  private readonly nonces = new Map<string, string>();

  private constructor(alg: string, signData: Signer, publicJwk: JWK, jkt: string) {
    this.alg = alg;
    this.signData = signData;
    this.publicJwk = publicJwk;
    this.jkt = jkt;
    this.encodedHeader = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg, jwk: publicJwk })).toString('base64url');
  }

  /** Generates a fresh key pair, kept in memory only (ES256 unless told otherwise). */
  static async generate(alg: 'ES256' | 'ES384' | 'EdDSA' | 'RS256' | 'PS256' = 'ES256'): Promise<DPoPSigner> {
    const { privateKey } =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'ES384'
          ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
          : alg === 'EdDSA'
            ? generateKeyPairSync('ed25519')
            : generateKeyPairSync('rsa', { modulusLength: 2048 });
    return DPoPSigner.fromKey({ privateKey, alg });
  }

  /** Wraps a caller-supplied key pair. */
  static async fromKey(input: DPoPKeyInput): Promise<DPoPSigner> {
    if (!input || typeof input !== 'object' || !input.privateKey) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'dpop: privateKey is required');
    }
    let key: KeyObject;
    try {
      key = toKeyObject(input.privateKey);
    } catch (cause) {
      throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: the private key cannot be used', { cause });
    }
    if (key.type !== 'private') throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: need a private key');
    const { alg, sign: signData } = signerFor(key, input.alg);
    const full = createPublicKey(key).export({ format: 'jwk' }) as Record<string, unknown>;
    // Only the members that describe the public key go into the proof header (RFC 9449 §4.2), and
    // only a key the verifiers accept (the core's one JWK validation: RSA 2048–8192 with e = 65537, …).
    let publicJwk: Record<string, unknown>;
    try {
      publicJwk = { ...validatePublicJwk(full, 'dpop').members };
    } catch (e) {
      if (e instanceof JoseError) throw new LatchkeyClientError('ERR_INVALID_KEY', `dpop: ${e.message}`);
      throw e;
    }
    const members = Object.keys(publicJwk);
    if (input.publicKey !== undefined) {
      const given = toPublicJwk(input.publicKey);
      if (members.some((m) => given[m] !== publicJwk[m])) {
        throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: publicKey does not match privateKey');
      }
    }
    return new DPoPSigner(alg, signData, publicJwk, jwkThumbprint(publicJwk));
  }

  /** The nonce last supplied by `origin`'s server, if any. */
  nonceFor(origin: string): string | undefined {
    return this.nonces.get(origin);
  }

  /** Records a `DPoP-Nonce` response header (RFC 9449 §8.2: the newest nonce replaces the old one). Returns true when it changed. */
  rememberNonce(origin: string, response: Response): boolean {
    const nonce = response.headers.get('dpop-nonce');
    if (nonce === null || nonce.length === 0 || nonce.length > 1024) return false;
    // RFC 9449 §8.1: nonce = 1*NQCHAR (printable ASCII without '"' and '\').
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce)) return false;
    if (this.nonces.get(origin) === nonce) return false;
    if (this.nonces.size >= 1000 && !this.nonces.has(origin)) this.nonces.clear();
    this.nonces.set(origin, nonce);
    return true;
  }

  /**
   * Creates a proof for one request (RFC 9449 §4.2): header `typ: dpop+jwt`, `alg`, `jwk`;
   * claims `jti`, `htm`, `htu` (target URI without query and fragment), `iat`, plus `nonce` when the
   * server gave one and `ath` (base64url SHA-256 of the access token) for resource requests (§7).
   */
  async proof(method: string, url: string | URL, accessToken?: string): Promise<string> {
    return this.proofSync(method, url, accessToken);
  }

  /** Synchronous form of {@link proof}. */
  proofSync(method: string, url: string | URL, accessToken?: string): string {
    const u = typeof url === 'string' ? new URL(url) : url;
    const claims: Record<string, unknown> = {
      jti: randomJti(),
      htm: method.toUpperCase(),
      // RFC 9449 §4.2: htu is "The HTTP target URI ..., without query and fragment parts."
      htu: `${u.origin}${u.pathname}`,
      iat: Math.floor(Date.now() / 1000),
    };
    const nonce = this.nonces.get(u.origin);
    if (nonce !== undefined) claims.nonce = nonce;
    // RFC 9449 §4.2: ath = base64url(SHA-256(ASCII(access token))), required when presenting a token.
    if (accessToken !== undefined) claims.ath = accessTokenHash(accessToken);
    const signingInput = `${this.encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${signingInput}.${this.signData(Buffer.from(signingInput)).toString('base64url')}`;
  }
}

function toPublicJwk(key: CryptoKey | KeyObject | JsonWebKey): Record<string, unknown> {
  try {
    const object = key instanceof KeyObject ? key : typeof (key as CryptoKey).algorithm === 'object' ? KeyObject.from(key as CryptoKey) : undefined;
    if (object === undefined) return key as Record<string, unknown>;
    return (object.type === 'public' ? object : createPublicKey(object)).export({ format: 'jwk' });
  } catch (cause) {
    throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: publicKey cannot be used', { cause });
  }
}
