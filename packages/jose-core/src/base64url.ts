/**
 * Canonical base64url (RFC 7515 §2, RFC 4648 §5 without padding): only the URL-safe alphabet, no
 * padding, no whitespace, and no set bits in the unused low bits of the last character. Decoders are
 * lenient about the last point, so without it one value has several spellings (malleability).
 */
const ALPHABET = /^[A-Za-z0-9_-]*$/;
// Last character of a 2-char tail carries 2 bits of data + 4 zero bits; of a 3-char tail, 4 bits + 2 zero bits.
const LAST_OF_2 = /[AQgw]$/;
const LAST_OF_3 = /[AEIMQUYcgkosw048]$/;

export function isCanonicalBase64url(s: string): boolean {
  if (!ALPHABET.test(s)) return false;
  switch (s.length % 4) {
    case 0:
      return true;
    case 2:
      return LAST_OF_2.test(s);
    case 3:
      return LAST_OF_3.test(s);
    default:
      return false;
  }
}

/** Decoded byte length of a canonical base64url string. */
export function base64urlByteLength(s: string): number {
  return Math.floor((s.length * 3) / 4);
}
