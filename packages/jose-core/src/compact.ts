import { isCanonicalBase64url } from './base64url.js';
import { JoseError } from './errors.js';

/** Default bound on a compact JWS, in characters (a 4096-bit RSA assertion is under 1.5 kB). */
export const DEFAULT_MAX_JWS_LENGTH = 8192;

/** Header parameters that point at keys elsewhere (RFC 8725 §3.10): never followed. */
export const KEY_LOCATING_HEADERS = ['jku', 'x5u', 'x5c', 'jwk'] as const;

/** A JOSE header after parsing: a plain JSON object with a string `alg` (RFC 7515 §4.1.1). */
export interface JwsHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: unknown;
  readonly [name: string]: unknown;
}

export interface ParsedJws {
  readonly header: JwsHeader;
  readonly payload: Record<string, unknown>;
  /** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) — RFC 7515 §5.2 step 8. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/**
 * Strict compact serialization (RFC 7515 §7.1): exactly three parts, each *canonical* base64url (RFC
 * 7515 §2: no padding, no whitespace, no stray bits); header and payload non-empty (a JWT's are JSON
 * objects). The signature part may be empty — that is how an unsecured JWS (`alg: none`) is spelled,
 * and it is refused by the algorithm check with a clear reason. Decoders are lenient, so without this
 * one signed JWT would have many spellings that all verify.
 */
export function isCanonicalCompactJws(s: string, maxLength = DEFAULT_MAX_JWS_LENGTH): boolean {
  if (s.length > maxLength) return false;
  const a = s.indexOf('.');
  const b = a < 0 ? -1 : s.indexOf('.', a + 1);
  if (a <= 0 || b <= a + 1 || s.indexOf('.', b + 1) !== -1) return false;
  return isCanonicalBase64url(s.slice(0, a)) && isCanonicalBase64url(s.slice(a + 1, b)) && isCanonicalBase64url(s.slice(b + 1));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuseProto(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('__proto__ member');
  return value;
}

/**
 * Decodes one base64url part as a JSON object. RFC 7515 §5.2 step 3–4: UTF-8, a JSON object; duplicate
 * names resolve to the last one (JSON.parse). A `__proto__` member (possibly spelled with \u escapes) is
 * refused, so no caller that copies the object with Object.assign can have its prototype replaced.
 */
export function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    const text = utf8.decode(Buffer.from(part, 'base64url'));
    // The reviver costs ~3x; only texts that could spell __proto__ pay it.
    value = text.includes('__proto__') || text.includes('\\u') ? JSON.parse(text, refuseProto) : JSON.parse(text);
  } catch {
    throw new JoseError('ERR_JWS_MALFORMED', `${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JoseError('ERR_JWS_MALFORMED', `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Parses a compact JWS with a JSON-object payload (a JWT), without verifying it. Enforces: canonical
 * syntax and `maxLength`; `alg` a string (RFC 7515 §4.1.1); `crit` refused — the core understands no
 * extension and RFC 7515 §4.1.11 says a recipient that does not "MUST" reject; `b64` other than true
 * refused (RFC 7797 §3 unencoded payloads need `crit`); `kid` a string when present (RFC 7515 §4.1.4).
 * Throws {@link JoseError} only.
 */
export function parseCompactJws(token: unknown, maxLength = DEFAULT_MAX_JWS_LENGTH): ParsedJws {
  if (typeof token !== 'string' || !isCanonicalCompactJws(token, maxLength)) throw new JoseError('ERR_JWS_MALFORMED', 'not a canonical compact JWS');
  const a = token.indexOf('.');
  const b = token.lastIndexOf('.');
  const header = decodeJsonPart(token.slice(0, a), 'header');
  if (typeof header.alg !== 'string') throw new JoseError('ERR_JWS_ALG_NOT_ALLOWED', 'alg missing');
  if (header.crit !== undefined) throw new JoseError('ERR_JWS_HEADER_REFUSED', 'crit not understood');
  if (header.b64 !== undefined && header.b64 !== true) throw new JoseError('ERR_JWS_HEADER_REFUSED', 'b64 refused');
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid.length > 1024)) throw new JoseError('ERR_JWS_HEADER_REFUSED', 'kid must be a string');
  const payload = decodeJsonPart(token.slice(a + 1, b), 'payload');
  return { header: header as JwsHeader, payload, signingInput: token.slice(0, b), signature: Buffer.from(token.slice(b + 1), 'base64url') };
}

/**
 * RFC 7515 §4.1.9: "typ" is a media type; names compare case-insensitively and "application/" may be
 * omitted ("A recipient using the media type value MUST treat it as if 'application/' were prepended
 * to any 'typ' value not containing a '/'"). Returns the lower-case name without "application/".
 */
export function normalizeTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}
