import type { KeyObject } from 'node:crypto';
import { ACCESS_TOKEN_SIGNING_ALGS, createSigner, type AccessTokenSigningAlg } from '@latchkey/jose-core';

/**
 * The token-signing hot path, without jose: node:crypto's one-shot sign is ~3x faster than
 * WebCrypto for ES256 (docs/performance.md). Deliberately tiny and isolated: it only produces
 * compact JWS (RFC 7515 §7.1) over a precomputed protected header; every token it makes is
 * verified with jose in test/tokens/jws.test.ts, including a property test over random claims.
 */
export type SigningAlg = AccessTokenSigningAlg;

/** SPEC §3: ES256 (default), EdDSA, RS256, PS256 — `@latchkey/jose-core`'s access-token signing table. */
export const SIGNING_ALGS: readonly SigningAlg[] = ACCESS_TOKEN_SIGNING_ALGS;

export interface JwsSigner {
  readonly kid: string;
  readonly alg: SigningAlg;
  /** Returns `header.payload.signature` for the given JSON payload text. */
  sign(payloadJson: string): string;
}

export function createJwsSigner(privateKey: KeyObject, alg: SigningAlg, kid: string, typ = 'at+jwt'): JwsSigner {
  const header = Buffer.from(JSON.stringify({ alg, typ, kid })).toString('base64url') + '.';
  if (!SIGNING_ALGS.includes(alg)) throw new Error(`unsupported signing algorithm ${String(alg)}`);
  // node:crypto one-shot sign with options built once (RFC 7518 §3.4 R || S for ES256, §3.5 PSS salt = hash length).
  const signFn = createSigner(privateKey, alg);
  return {
    kid,
    alg,
    sign(payloadJson: string): string {
      const input = header + Buffer.from(payloadJson).toString('base64url');
      return input + '.' + signFn(Buffer.from(input)).toString('base64url');
    },
  };
}
