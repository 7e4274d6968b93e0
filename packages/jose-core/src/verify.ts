import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { PROFILES, type AsymmetricAlg } from './algorithms.js';
import { JoseError } from './errors.js';
import { parseCompactJws, type ParsedJws } from './compact.js';

/** One public key bound to one algorithm, verifying synchronously with node:crypto (RFC 7515 §5.2 step 8). */
export interface Verifier {
  readonly alg: AsymmetricAlg;
  verify(signingInput: string | Buffer, signature: Buffer): boolean;
}

/**
 * Builds the verification closure once per (key, alg): node:crypto's one-shot verify is about twice as
 * fast as WebCrypto for small inputs and runs on the calling thread. A key of the wrong type for `alg`
 * (e.g. RSA for ES256) never verifies. Signature lengths are exact: RFC 7518 §3.4 (ECDSA R || S),
 * RFC 8017 §8.2.2 (RSA, the modulus length), RFC 8032 §5.1.6 (Ed25519, 64 bytes).
 */
export function createVerifier(key: KeyObject, alg: AsymmetricAlg): Verifier {
  const p = PROFILES[alg];
  const fits =
    key.type === 'public' &&
    (p.kty === 'EC'
      ? key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[p.crv as string]
      : p.kty === 'RSA'
        ? key.asymmetricKeyType === 'rsa'
        : key.asymmetricKeyType === 'ed25519');
  if (!fits) return { alg, verify: () => false };
  const length = p.signatureLength ?? Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  const params = { key, ...p.options };
  const hash = p.hash;
  return {
    alg,
    verify(data, sig) {
      if (sig.length !== length) return false;
      try {
        return cryptoVerify(hash, typeof data === 'string' ? Buffer.from(data, 'latin1') : data, params, sig);
      } catch {
        return false;
      }
    },
  };
}

/** Verifies a parsed JWS with one verifier. */
export function verifyParsed(jws: ParsedJws, verifier: Verifier): boolean {
  return jws.header.alg === verifier.alg && verifier.verify(jws.signingInput, jws.signature);
}

/**
 * Parses and verifies a compact JWS whose `alg` must be one of `algorithms` and whose key is chosen by
 * `keyFor(header)` (return undefined when none fits). Returns header and payload; throws
 * {@link JoseError}. Does not check any claim (exp, aud, …): that is the caller's.
 */
export function verifyCompactJws(
  token: unknown,
  algorithms: readonly AsymmetricAlg[],
  keyFor: (header: ParsedJws['header'], alg: AsymmetricAlg) => Verifier | undefined,
  maxLength?: number,
): ParsedJws {
  const jws = parseCompactJws(token, maxLength);
  const alg = jws.header.alg as AsymmetricAlg;
  // RFC 8725 §3.1: the algorithm comes from an allow-list for this use, never from the token alone.
  if (!algorithms.includes(alg)) throw new JoseError('ERR_JWS_ALG_NOT_ALLOWED', `alg ${alg} not allowed`);
  const v = keyFor(jws.header, alg);
  if (v === undefined || !verifyParsed(jws, v)) throw new JoseError('ERR_JWS_SIGNATURE_INVALID', 'signature invalid');
  return jws;
}
