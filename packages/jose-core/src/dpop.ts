import { createHash, type KeyObject } from 'node:crypto';
import { TwoGenerationMap } from './generations.js';
import { DPOP_ALGS, isAsymmetricAlg } from './algorithms.js';
import { normalizeTyp, parseCompactJws, type JwsHeader, type ParsedJws } from './compact.js';
import { describeValue, JoseError, type JoseErrorCode } from './errors.js';
import { checkJwkMembers, importPublicMembers, jwkFitsAlg } from './jwk.js';
import { thumbprintInput } from './thumbprint.js';
import { createVerifier, type Verifier } from './verify.js';

/** Longest DPoP proof accepted, in characters. */
export const MAX_DPOP_PROOF_LENGTH = 8192;
/** Longest `htu` claim, in characters. */
const MAX_HTU_LENGTH = 2048;

export interface DpopVerifierOptions {
  /** Accepted algorithms (a subset of {@link DPOP_ALGS}); default all of them. */
  readonly algorithms?: Iterable<string>;
  /** Seconds a proof stays acceptable after its `iat` (RFC 9449 §4.3 step 11 "acceptable window"). */
  readonly maxAge: number;
  /** Seconds of clock difference tolerated on `iat`. */
  readonly clockTolerance: number;
  /** Imported proof keys kept (LRU-ish, per verifier). Default 1000. */
  readonly keyCacheSize?: number;
}

export interface DpopRequest {
  /** The `DPoP` header value(s). An array must hold exactly one (RFC 9449 §4.3 step 1). */
  readonly proof: string | readonly string[] | undefined;
  /** The request method (RFC 9449 §4.3 step 8). */
  readonly method: string;
  /** The request URI; query and fragment are ignored (step 9). */
  readonly url: string;
  /** Present at a resource server: `ath` is then required and checked (step 12, §7.1). */
  readonly accessToken?: string;
  /** The key the access token is bound to (`cnf.jkt`, §6.1); the proof key must be it (§7.1). */
  readonly jkt?: string;
  /** Current time in seconds (default Date.now()/1000). */
  readonly now?: number;
  /** When the server requires nonces (§8, §9): whether the proof's `nonce` claim is acceptable (step 10). */
  readonly nonce?: (nonce: unknown) => boolean;
  /**
   * Single use (§11.1): records `jti` for `jkt` until `expiresAt` (seconds) and returns false when it was
   * already there. Called last, after every other check, so a forged proof cannot burn a real jti.
   */
  readonly replay: (jkt: string, jti: string, expiresAt: number) => boolean | Promise<boolean>;
}

export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof key (`cnf.jkt`). */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  readonly header: JwsHeader;
  readonly payload: Record<string, unknown>;
}

/** Normalises a URI for `htu` comparison: RFC 9449 §4.3 step 9 ("ignoring any query and fragment parts") after RFC 3986 §6.2.2/§6.2.3 normalisation. */
export function normalizeHtu(uri: string): string | undefined {
  if (uri.length > MAX_HTU_LENGTH) return undefined;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** RFC 9449 §4.2: `ath` = base64url(SHA-256(ASCII(access token))). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

function fail(code: JoseErrorCode, detail: string): never {
  throw new JoseError(code, detail);
}

interface ProofKey {
  readonly jkt: string;
  readonly key: KeyObject;
  readonly verifiers: Map<string, Verifier>;
}

/** The one DPoP proof verifier (RFC 9449 §4.3), shared by the server's token endpoint and `@latchkey/resource`. */
export interface DpopVerifier {
  /**
   * Runs every check of RFC 9449 §4.3 that applies and returns the proof's key thumbprint. Throws
   * {@link JoseError} with an `ERR_DPOP_*` code; callers map codes to their own errors.
   */
  verify(request: DpopRequest): Promise<DpopProof>;
}

/**
 * Builds a DPoP proof verifier with its own bounded cache of imported proof keys (a client reuses its
 * key for many proofs). Checks, in order: one header (step 1); canonical compact JWS ≤ 8 kB (2);
 * `typ` dpop+jwt compared as a media type (4, RFC 7515 §4.1.9: `application/dpop+jwt` is the same
 * type); `alg` in the table (5); no `jku`/`x5u`/`x5c` (RFC 8725 §3.10); `jwk` public, valid (RSA
 * 2048–8192/e=65537, P-256/384/521 on the curve, Ed25519) and fitting `alg` (7); `jti`, `htm`, `htu`,
 * `iat` present (3); signature (6); `htm` (8); `htu` (9); `iat` window (11); `exp`/`nbf` when present (RFC 7519 §4.1.4–4.1.5); `ath` (12); `cnf.jkt`
 * (§7.1); `nonce` (10); `jti` replay (§11.1).
 *
 * Does not: issue nonces (the caller's `nonce` function decides), or check `ath` without an access token.
 */
export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  const algorithms = new Set<string>();
  for (const a of options.algorithms ?? DPOP_ALGS) {
    if (!(DPOP_ALGS as readonly string[]).includes(a)) throw new TypeError(`DPoP algorithm ${a} is not allowed (asymmetric only)`);
    algorithms.add(a);
  }
  const { maxAge, clockTolerance } = options;
  const cacheSize = options.keyCacheSize ?? 1000;
  const keys = new TwoGenerationMap<string, ProofKey>(Math.max(1, Math.ceil(cacheSize / 2)));

  function proofKey(input: string, members: Parameters<typeof importPublicMembers>[0]): ProofKey {
    let k = keys.touch(input);
    if (k === undefined) {
      const key = importPublicMembers(members);
      k = { key, jkt: createHash('sha256').update(input).digest('base64url'), verifiers: new Map() };
      keys.set(input, k);
    }
    return k;
  }

  return {
    async verify(req) {
      // Step 1: "There is not more than one DPoP HTTP request header field."
      const raw = req.proof;
      let proof: string | undefined;
      if (typeof raw === 'string' || raw === undefined) proof = raw;
      else if (raw.length !== 1) fail('ERR_DPOP_HEADER_COUNT', 'DPoP header repeated');
      else proof = raw[0];
      if (typeof proof !== 'string' || proof === '') fail('ERR_DPOP_HEADER_COUNT', 'no DPoP header');
      // Step 2: "The DPoP HTTP request header field value is a single and well-formed JWT."
      // (Node joins repeated headers with ", ": a comma never appears in a compact JWS, so repeats fail here too.)
      let jws: ParsedJws;
      try {
        jws = parseCompactJws(proof, MAX_DPOP_PROOF_LENGTH);
      } catch (e) {
        fail('ERR_DPOP_MALFORMED', (e as Error).message);
      }
      const { header, payload } = jws;
      // Step 4: "The typ JOSE Header Parameter has the value dpop+jwt" — a media type (RFC 7515 §4.1.9).
      if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== 'dpop+jwt') fail('ERR_DPOP_TYP', `typ is ${typeof header.typ === 'string' ? header.typ : describeValue(header.typ)}, not dpop+jwt`);
      // Step 5: "a registered asymmetric digital signature algorithm [...], is not none, is supported by the application, and is acceptable per local policy".
      const alg = header.alg;
      if (!isAsymmetricAlg(alg) || !algorithms.has(alg)) fail('ERR_DPOP_ALG', `alg ${alg} not allowed`);
      // The key is the embedded jwk (§4.2); headers pointing at other keys are refused (RFC 8725 §3.10).
      for (const h of ['jku', 'x5u', 'x5c'] as const) if (header[h] !== undefined) fail('ERR_DPOP_JWK', `header ${h} refused`);
      // Step 7: "The public key in the jwk JOSE Header Parameter [...] does not contain a private key."
      const jwk = header.jwk;
      if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) fail('ERR_DPOP_CLAIM_MISSING', 'no jwk header');
      let pk: ProofKey;
      try {
        const members = checkJwkMembers(jwk, 'dpop');
        if (!jwkFitsAlg(jwk as Record<string, unknown>, alg)) fail('ERR_DPOP_JWK', `jwk does not fit alg ${alg}`);
        pk = proofKey(thumbprintInput(members), members);
      } catch (e) {
        if (e instanceof JoseError && e.code === 'ERR_DPOP_JWK') throw e;
        fail('ERR_DPOP_JWK', `jwk refused: ${(e as Error).message}`);
      }
      // Step 3: "All required claims per Section 4.2 are contained in the JWT."
      const { jti, htm, htu, iat } = payload;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) fail('ERR_DPOP_CLAIM_MISSING', 'jti must be a string of 1 to 256 characters');
      if (typeof htm !== 'string') fail('ERR_DPOP_CLAIM_MISSING', 'htm missing');
      if (typeof htu !== 'string') fail('ERR_DPOP_CLAIM_MISSING', 'htu missing');
      if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('ERR_DPOP_CLAIM_MISSING', 'iat missing');
      // Step 6: "The JWT signature verifies with the public key contained in the jwk JOSE Header Parameter."
      let verifier = pk.verifiers.get(alg);
      if (verifier === undefined) pk.verifiers.set(alg, (verifier = createVerifier(pk.key, alg)));
      if (!verifier.verify(jws.signingInput, jws.signature)) fail('ERR_DPOP_SIGNATURE_VERIFICATION_FAILED', 'signature invalid');
      // Step 8: "The htm claim matches the HTTP method of the current request."
      if (htm !== req.method) fail('ERR_DPOP_HTM', 'htm does not match the request method');
      // Step 9: "The htu claim matches the HTTP URI value for the HTTP request [...], ignoring any query and fragment parts."
      const expected = normalizeHtu(req.url);
      if (expected === undefined || normalizeHtu(htu) !== expected) fail('ERR_DPOP_HTU', 'htu does not match the request URI');
      // Step 11: "The creation time of the JWT [...] is within an acceptable window."
      const now = req.now ?? Date.now() / 1000;
      if (iat > now + clockTolerance) fail('ERR_DPOP_IAT', 'iat in the future');
      if (iat < now - maxAge - clockTolerance) fail('ERR_DPOP_IAT', 'proof too old');
      // RFC 7519 §4.1.4/§4.1.5: optional in a proof, but honoured when present ("MUST NOT be accepted").
      const { exp, nbf } = payload;
      if (exp !== undefined && (typeof exp !== 'number' || !(exp > now - clockTolerance))) fail('ERR_DPOP_EXPIRED', 'exp has passed');
      if (nbf !== undefined && (typeof nbf !== 'number' || !(nbf <= now + clockTolerance))) fail('ERR_DPOP_EXPIRED', 'nbf in the future');
      // Step 12: "If presented to a protected resource in conjunction with an access token, [...] the value of the ath claim equals the hash of that access token".
      if (req.accessToken !== undefined) {
        if (typeof payload.ath !== 'string') fail('ERR_DPOP_ATH', 'ath missing');
        if (payload.ath !== accessTokenHash(req.accessToken)) fail('ERR_DPOP_ATH', 'ath does not match the access token');
      }
      // §7.1: "the public key to which the access token is bound" must be the proof's key.
      if (req.jkt !== undefined && req.jkt !== pk.jkt) fail('ERR_DPOP_KEY_MISMATCH', 'proof key thumbprint differs from cnf.jkt');
      // Step 10: "If the server provided a nonce value to the client, the nonce claim matches the server-provided nonce value."
      if (req.nonce !== undefined && !req.nonce(payload.nonce)) fail('ERR_DPOP_NONCE', payload.nonce === undefined ? 'no nonce' : 'stale or unknown nonce');
      // §11.1: single use while the proof could still be accepted.
      if (!(await req.replay(pk.jkt, jti, iat + maxAge + clockTolerance))) fail('ERR_DPOP_REPLAYED', 'DPoP proof jti replayed');
      return { jkt: pk.jkt, jti, iat, header, payload };
    },
  };
}
