import { constants, KeyObject, verify as cryptoVerify, type webcrypto } from 'node:crypto';

/**
 * Synchronous JWS signature verification with node:crypto for the asymmetric algorithms — the
 * counterpart of tokens/jws.ts on the client-assertion hot path. jose verifies through WebCrypto, whose
 * jobs run on the libuv thread pool: measured ~150 µs of CPU per ES256 client assertion against ~70 µs
 * here (docs/performance.md). Only the signature is checked here; the caller has already required a
 * canonical compact JWS and checks every claim itself. Algorithms not listed return undefined and the
 * caller falls back to jose.
 */
type Params = { hash: string | null; opts?: { dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number } };
const PARAMS: Record<string, Params> = {
  ES256: { hash: 'sha256', opts: { dsaEncoding: 'ieee-p1363' } },
  ES384: { hash: 'sha384', opts: { dsaEncoding: 'ieee-p1363' } },
  ES512: { hash: 'sha512', opts: { dsaEncoding: 'ieee-p1363' } },
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', opts: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  PS384: { hash: 'sha384', opts: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 } },
  PS512: { hash: 'sha512', opts: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 } },
  EdDSA: { hash: null },
  Ed25519: { hash: null },
};

const keyObjects = new WeakMap<object, KeyObject>();

function asKeyObject(key: webcrypto.CryptoKey | KeyObject): KeyObject {
  if (key instanceof KeyObject) return key;
  let k = keyObjects.get(key);
  if (!k) keyObjects.set(key, (k = KeyObject.from(key)));
  return k;
}

/** Whether this module verifies `alg` with this kind of key (asymmetric algorithms, public keys). */
export function handlesJws(alg: string, key: webcrypto.CryptoKey | KeyObject | Uint8Array): boolean {
  return PARAMS[alg] !== undefined && !(key instanceof Uint8Array) && asKeyObject(key).type === 'public';
}

/** true/false for a supported asymmetric `alg` and public key; undefined when this module does not handle it. */
export function verifyJwsSignature(jws: string, alg: string, key: webcrypto.CryptoKey | KeyObject | Uint8Array): boolean | undefined {
  const p = PARAMS[alg];
  if (!p || key instanceof Uint8Array) return undefined;
  const ko = asKeyObject(key);
  if (ko.type !== 'public') return undefined;
  const dot = jws.lastIndexOf('.');
  const data = Buffer.from(jws.slice(0, dot));
  const sig = Buffer.from(jws.slice(dot + 1), 'base64url');
  try {
    return cryptoVerify(p.hash, data, { key: ko, ...(p.opts ?? {}) } as Parameters<typeof cryptoVerify>[2], sig);
  } catch {
    // Key and algorithm do not fit (e.g. an RSA key for ES256): not a valid signature.
    return false;
  }
}
