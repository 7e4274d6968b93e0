import { createHash, createPublicKey, KeyObject, type webcrypto } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { randomJti, resolvePrivateKey } from './auth-methods.js';
import { LatchkeyClientError } from './errors.js';

type CryptoKey = webcrypto.CryptoKey;
type JsonWebKey = webcrypto.JsonWebKey;

/** A DPoP key pair supplied by the caller (RFC 9449 §4.2: the proof carries the public key as `jwk`). */
export interface DPoPKeyInput {
  /** The private key proofs are signed with. */
  privateKey: CryptoKey | KeyObject | JsonWebKey;
  /** The public key; optional when it can be derived (KeyObject, private JWK, extractable CryptoKey). */
  publicKey?: CryptoKey | KeyObject | JsonWebKey;
  /** JWS algorithm; inferred from the key when omitted (ES256 for P-256, EdDSA for Ed25519, …). */
  alg?: string;
}

const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

function publicMembers(jwk: JsonWebKey | JWK): JWK {
  const out: Record<string, unknown> = {};
  // Only the members that describe the public key go into the proof header.
  for (const [k, v] of Object.entries(jwk)) {
    if (!PRIVATE_JWK_MEMBERS.has(k) && k !== 'key_ops' && k !== 'ext' && k !== 'use' && k !== 'alg' && k !== 'kid') out[k] = v;
  }
  return out as JWK;
}

/**
 * Signs DPoP proofs (RFC 9449 §4) with one key pair, and remembers the latest `DPoP-Nonce`
 * (RFC 9449 §8, §9) per origin.
 */
export class DPoPSigner {
  readonly alg: string;
  readonly publicJwk: JWK;
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` a server binds tokens to (RFC 9449 §6.1). */
  readonly jkt: string;
  private readonly key: CryptoKey | KeyObject | Uint8Array;
  private readonly nonces = new Map<string, string>();

  private constructor(key: CryptoKey | KeyObject | Uint8Array, alg: string, publicJwk: JWK, jkt: string) {
    this.key = key;
    this.alg = alg;
    this.publicJwk = publicJwk;
    this.jkt = jkt;
  }

  /** Generates a fresh non-extractable key pair (ES256 unless told otherwise). */
  static async generate(alg: 'ES256' | 'ES384' | 'EdDSA' | 'RS256' | 'PS256' = 'ES256'): Promise<DPoPSigner> {
    const pair = await generateKeyPair(alg, { extractable: false });
    const publicJwk = publicMembers(await exportJWK(pair.publicKey));
    return new DPoPSigner(pair.privateKey, alg, publicJwk, await calculateJwkThumbprint(publicJwk, 'sha256'));
  }

  /** Wraps a caller-supplied key pair. */
  static async fromKey(input: DPoPKeyInput): Promise<DPoPSigner> {
    if (!input || typeof input !== 'object' || !input.privateKey) {
      throw new LatchkeyClientError('ERR_INVALID_OPTIONS', 'dpop: privateKey is required');
    }
    const material = await resolvePrivateKey(input.privateKey, input.alg, undefined);
    if (material.alg.startsWith('HS')) throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: symmetric algorithms are not allowed (RFC 9449 §4.2)');
    let publicJwk: JWK;
    try {
      if (input.publicKey instanceof KeyObject) publicJwk = input.publicKey.export({ format: 'jwk' }) as JWK;
      else if (input.publicKey && typeof (input.publicKey as CryptoKey).algorithm === 'object') publicJwk = await exportJWK(input.publicKey as CryptoKey);
      else if (input.publicKey) publicJwk = input.publicKey as JWK;
      else if (input.privateKey instanceof KeyObject) publicJwk = createPublicKey(input.privateKey).export({ format: 'jwk' }) as JWK;
      else if (typeof (input.privateKey as CryptoKey).algorithm === 'object') publicJwk = await exportJWK(input.privateKey as CryptoKey);
      else publicJwk = input.privateKey as JWK;
    } catch (cause) {
      throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: cannot derive the public key; pass publicKey', { cause });
    }
    publicJwk = publicMembers(publicJwk);
    if (typeof publicJwk.kty !== 'string') throw new LatchkeyClientError('ERR_INVALID_KEY', 'dpop: the public key is not a valid JWK');
    return new DPoPSigner(material.key, material.alg, publicJwk, await calculateJwkThumbprint(publicJwk, 'sha256'));
  }

  /** The nonce last supplied by `origin`'s server, if any. */
  nonceFor(origin: string): string | undefined {
    return this.nonces.get(origin);
  }

  /** Records a `DPoP-Nonce` response header (RFC 9449 §8.2: the newest nonce replaces the old one). */
  rememberNonce(origin: string, response: Response): boolean {
    const nonce = response.headers.get('dpop-nonce');
    if (nonce === null || nonce.length === 0 || nonce.length > 1024) return false;
    // RFC 9449 §8.1: nonce = 1*NQCHAR (printable ASCII without '"' and '\').
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce)) return false;
    const changed = this.nonces.get(origin) !== nonce;
    if (this.nonces.size > 1000 && !this.nonces.has(origin)) this.nonces.clear();
    this.nonces.set(origin, nonce);
    return changed;
  }

  /**
   * Creates a proof for one request (RFC 9449 §4.2): header `typ: dpop+jwt`, `alg`, `jwk`;
   * claims `jti`, `htm`, `htu` (target URI without query and fragment), `iat`, plus `nonce` when the
   * server gave one and `ath` (base64url SHA-256 of the access token) for resource requests (§7).
   */
  async proof(method: string, url: string | URL, accessToken?: string): Promise<string> {
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
    if (accessToken !== undefined) claims.ath = createHash('sha256').update(accessToken, 'ascii').digest('base64url');
    return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: this.alg, jwk: this.publicJwk }).sign(this.key);
  }
}
