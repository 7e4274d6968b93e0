import { constants, sign as cryptoSign, type KeyObject } from 'node:crypto';

/**
 * The token-signing hot path, without jose: node:crypto's one-shot sign is ~3x faster than
 * WebCrypto for ES256 (docs/performance.md). Deliberately tiny and isolated: it only produces
 * compact JWS (RFC 7515 §7.1) over a precomputed protected header; every token it makes is
 * verified with jose in test/tokens/jws.test.ts, including a property test over random claims.
 */
export type SigningAlg = 'ES256' | 'EdDSA' | 'RS256' | 'PS256';

export interface JwsSigner {
  readonly kid: string;
  readonly alg: SigningAlg;
  /** Returns `header.payload.signature` for the given JSON payload text. */
  sign(payloadJson: string): string;
}

export function createJwsSigner(privateKey: KeyObject, alg: SigningAlg, kid: string, typ = 'at+jwt'): JwsSigner {
  const header = Buffer.from(JSON.stringify({ alg, typ, kid })).toString('base64url') + '.';
  let signFn: (data: Buffer) => Buffer;
  switch (alg) {
    case 'ES256':
      // RFC 7518 §3.4: the signature is R || S (64 bytes), not DER.
      signFn = (data) => cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      signFn = (data) => cryptoSign(null, data, privateKey);
      break;
    case 'RS256':
      signFn = (data) => cryptoSign('sha256', data, privateKey);
      break;
    case 'PS256':
      // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
      signFn = (data) =>
        cryptoSign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      break;
    default:
      throw new Error(`unsupported signing algorithm ${String(alg)}`);
  }
  return {
    kid,
    alg,
    sign(payloadJson: string): string {
      const input = header + Buffer.from(payloadJson).toString('base64url');
      return input + '.' + signFn(Buffer.from(input)).toString('base64url');
    },
  };
}
