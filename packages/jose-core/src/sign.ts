import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { PROFILES, type AsymmetricAlg } from './algorithms.js';
import { JoseError } from './errors.js';

const CURVE_ALG: Readonly<Record<string, AsymmetricAlg>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * The algorithm a private key signs with: the requested one when it fits, else the natural default
 * (ES256/384/512 by curve, EdDSA for Ed25519, PS256 for RSA-PSS keys, RS256 for RSA). Throws
 * {@link JoseError} `ERR_KEY_UNSUPPORTED` for symmetric keys, Ed448 and other curves.
 */
export function signingAlgFor(key: KeyObject, requested?: string): AsymmetricAlg {
  const type = key.asymmetricKeyType;
  let ok: readonly AsymmetricAlg[];
  let dflt: AsymmetricAlg;
  if (type === 'ec') {
    const alg = CURVE_ALG[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (alg === undefined) throw new JoseError('ERR_KEY_UNSUPPORTED', 'EC keys must be on P-256, P-384 or P-521');
    ok = [alg];
    dflt = alg;
  } else if (type === 'ed25519') {
    ok = ['EdDSA', 'Ed25519'];
    dflt = 'EdDSA';
  } else if (type === 'rsa') {
    ok = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    dflt = 'RS256';
  } else if (type === 'rsa-pss') {
    ok = ['PS256', 'PS384', 'PS512'];
    dflt = 'PS256';
  } else {
    throw new JoseError('ERR_KEY_UNSUPPORTED', 'need an asymmetric private key (EC P-256/384/521, Ed25519 or RSA)');
  }
  if (requested === undefined) return dflt;
  if (!(ok as readonly string[]).includes(requested)) throw new JoseError('ERR_KEY_UNSUPPORTED', `this key does not sign ${requested}`);
  return requested as AsymmetricAlg;
}

/**
 * A synchronous node:crypto signer for one private key and algorithm (RFC 7515 §5.1 step 5), with the
 * sign options built once. ECDSA output is R || S (RFC 7518 §3.4); PSS salt = hash length (§3.5).
 */
export function createSigner(privateKey: KeyObject, alg: AsymmetricAlg): (data: Buffer) => Buffer {
  if (privateKey.type !== 'private') throw new JoseError('ERR_KEY_UNSUPPORTED', 'need a private key');
  signingAlgFor(privateKey, alg);
  const p = PROFILES[alg];
  const params = { key: privateKey, ...p.options };
  const hash = p.hash;
  return (data) => cryptoSign(hash, data, params);
}
