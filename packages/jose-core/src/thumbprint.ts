import { createHash } from 'node:crypto';
import { JoseError } from './errors.js';

/**
 * The RFC 7638 §3.2 input: the required members of the key type only, in lexicographic order, no
 * whitespace (RFC 7638 §3.3). Member values are validated base64url or curve names, so JSON.stringify
 * produces exactly the UTF-8 the RFC requires.
 */
export function thumbprintInput(jwk: Readonly<Record<string, unknown>>): string {
  const s = (m: string): string => {
    const v = jwk[m];
    if (typeof v !== 'string') throw new JoseError('ERR_JWK_INVALID', `jwk member ${m} is not a string`);
    return v;
  };
  switch (jwk.kty) {
    // RFC 7638 §3.2: EC "crv", "kty", "x", "y"; RSA "e", "kty", "n"; RFC 8037 §2: OKP "crv", "kty", "x".
    case 'EC':
      return JSON.stringify({ crv: s('crv'), kty: 'EC', x: s('x'), y: s('y') });
    case 'RSA':
      return JSON.stringify({ e: s('e'), kty: 'RSA', n: s('n') });
    case 'OKP':
      return JSON.stringify({ crv: s('crv'), kty: 'OKP', x: s('x') });
    default:
      throw new JoseError('ERR_JWK_INVALID', 'unsupported kty');
  }
}

/** RFC 7638 JWK thumbprint, SHA-256, base64url — the `cnf.jkt` of RFC 9449 §6.1. */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(thumbprintInput(jwk)).digest('base64url');
}
