import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { ASYMMETRIC_ALGS, hasPrivateMembers, keyFitsAlg } from '../client-auth/client-jwks.js';
import type { Config } from '../config.js';
import { invalidRequest, OAuthError } from '../shared/errors.js';
import type { OAuthRequest } from '../shared/oauth-request.js';
import type { Binder } from './binding.js';
import { isCanonicalCompactJws } from './compact.js';

/** What DPoP proof validation needs: its settings, the keyed hash for server nonces, the single-use store. */
export interface DpopContext {
  readonly config: Pick<Config, 'clockSkew' | 'dpopProofMaxAge' | 'dpopNonce'>;
  readonly hasher: { hash(value: string): string };
  useOnce(key: string, expSeconds: number): Promise<boolean>;
}

/** DPoP proof algorithms: asymmetric only (RFC 9449 §4.2: "MUST NOT be none or an identifier for a symmetric algorithm (MAC)"). */
export const DPOP_ALGS: readonly string[] = ASYMMETRIC_ALGS;

export const MAX_PROOF_LENGTH = 8192;
/** Nonces rotate every NONCE_WINDOW seconds; the current and the previous one are accepted. */
export const NONCE_WINDOW = 60;

/** The one public description of a rejected proof; the failed check goes to `detail` (log only). */
const invalidProof = (detail: string) => new OAuthError('invalid_dpop_proof', 'the DPoP proof is invalid', { detail });

/**
 * Server nonces (RFC 9449 §8) without shared state: the nonce is a time slot plus a MAC of it under
 * a key derived from the key-encryption key (the secret hasher's keyed HMAC, with its own domain
 * prefix), so every node sharing the KEK issues and accepts the same nonces.
 */
export function dpopNonce(ctx: DpopContext, slot = Math.floor(Date.now() / 1000 / NONCE_WINDOW)): string {
  return `${slot.toString(36)}.${ctx.hasher.hash(`latchkey dpop nonce v1:${slot}`).slice(3, 25)}`;
}

function nonceValid(ctx: DpopContext, nonce: unknown): boolean {
  if (typeof nonce !== 'string' || nonce.length > 64) return false;
  const now = Math.floor(Date.now() / 1000 / NONCE_WINDOW);
  const slot = parseInt(nonce.split('.', 1)[0]!, 36);
  if (!Number.isSafeInteger(slot) || slot < now - 1 || slot > now) return false;
  return nonce === dpopNonce(ctx, slot);
}

/** RFC 9449 §4.3 check 9: compare the URI "ignoring any query and fragment parts" after syntax-based normalisation (RFC 3986 §6.2.2, §6.2.3). */
export function htuMatches(htu: unknown, requestUrl: string): boolean {
  if (typeof htu !== 'string' || htu.length > 2048) return false;
  const norm = (s: string) => {
    const u = new URL(s);
    u.search = '';
    u.hash = '';
    return u.href;
  };
  try {
    return norm(htu) === norm(requestUrl);
  } catch {
    return false;
  }
}

interface ProofKey {
  key: CryptoKey;
  jkt: string;
}
/** Imported proof keys by (alg, jwk JSON): a client reuses its DPoP key for many proofs. Bounded. */
const proofKeys = new Map<string, ProofKey>();
const MAX_CACHED_KEYS = 1000;

async function proofKey(jwk: Record<string, unknown>, alg: string): Promise<ProofKey> {
  const id = alg + '|' + JSON.stringify(jwk);
  let k = proofKeys.get(id);
  if (!k) {
    const key = await importJWK(jwk as JWK, alg);
    if (key instanceof Uint8Array) throw new Error('symmetric key');
    k = { key, jkt: await calculateJwkThumbprint(jwk as JWK, 'sha256') };
    if (proofKeys.size >= MAX_CACHED_KEYS) proofKeys.delete(proofKeys.keys().next().value!);
    proofKeys.set(id, k);
  }
  return k;
}

/**
 * Validates the DPoP proof of a token request (RFC 9449 §4.3) and returns the thumbprint of its key
 * (RFC 7638, SHA-256) for `cnf.jkt`. Checks: exactly one `DPoP` header; a JWS (not JWE) no longer than
 * 8 kB; `typ` "dpop+jwt"; `alg` asymmetric and supported; `jwk` a public key fitting the alg (no
 * private members); the signature; `jti`, `htm`, `htu`, `iat` present; `htm` = request method; `htu` =
 * request URI ignoring query and fragment; `iat` no older than `dpopProofMaxAge` and not in the
 * future, both with `clockSkew`; the server nonce when `dpopNonce` is on; `jti` single-use (across
 * nodes) until the proof could no longer be accepted anyway.
 *
 * Does not check: `ath` (only meaningful at resource servers, RFC 9449 §4.3 check 12).
 * Errors: 400 `invalid_dpop_proof`, or 400 `use_dpop_nonce` with a `DPoP-Nonce` header.
 */
export async function validateDpopProof(req: OAuthRequest, ctx: DpopContext): Promise<{ jkt: string; nonce: string | undefined }> {
  const raw = req.headers.dpop;
  // RFC 9449 §4.3 check 1: "There is not more than one DPoP HTTP request header field." (Node joins repeats with ", ".)
  if (typeof raw !== 'string' || raw.includes(',')) throw invalidProof('DPoP header repeated or not a single value');
  // Check 2: "The DPoP HTTP request header field value is a single and well-formed JWT."
  if (raw.length > MAX_PROOF_LENGTH || !isCanonicalCompactJws(raw)) throw invalidProof('DPoP proof is not a canonical compact JWS');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(raw);
  } catch {
    throw invalidProof('DPoP proof header is not decodable');
  }
  // Check 4: "The typ JOSE Header Parameter has the value dpop+jwt."
  if (header.typ !== 'dpop+jwt') throw invalidProof(`typ is ${String(header.typ)}, not dpop+jwt`);
  const alg = header.alg;
  // Check 5: "The alg JOSE Header Parameter indicates a registered asymmetric digital signature algorithm, is not none, is supported by the application".
  if (typeof alg !== 'string' || !DPOP_ALGS.includes(alg)) throw invalidProof(`alg ${String(alg)} not allowed`);
  // The key is the embedded jwk (RFC 9449 §4.2); headers pointing at other keys are refused (RFC 8725 §3.10).
  for (const h of ['jku', 'x5u', 'x5c'] as const) if (h in header) throw invalidProof(`header ${h} refused`);
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalidProof('no jwk header');
  // Check 7: "The public key in the jwk JOSE Header Parameter ... does not contain a private key."
  if (hasPrivateMembers(jwk)) throw invalidProof('jwk header contains private key material');
  if (!keyFitsAlg(jwk, alg)) throw invalidProof(`jwk does not fit alg ${alg}`);
  let pk: ProofKey;
  try {
    pk = await proofKey(jwk, alg);
  } catch {
    throw invalidProof('jwk header is not a usable public key');
  }
  const skew = ctx.config.clockSkew;
  let p: JWTPayload;
  try {
    // Check 6: "The JWT signature verifies with the public key contained in the jwk JOSE Header Parameter."
    ({ payload: p } = await jwtVerify(raw, pk.key, { algorithms: [alg], clockTolerance: skew, requiredClaims: ['jti', 'htm', 'htu', 'iat'] }));
  } catch (e) {
    throw invalidProof(`proof rejected: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  const jti = p.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalidProof('jti must be a string of 1 to 256 characters');
  // Check 8: "The htm claim matches the HTTP method of the current request."
  if (p.htm !== req.method) throw invalidProof('htm does not match the request method');
  // Check 9: "The htu claim matches the HTTP URI value for the HTTP request in which the JWT was received, ignoring any query and fragment parts."
  if (!htuMatches(p.htu, req.url)) throw invalidProof('htu does not match the token endpoint URI');
  // Check 11: "The creation time of the JWT, as determined by ... the iat claim, is within an acceptable window."
  const now = Math.floor(Date.now() / 1000);
  const iat = p.iat!;
  const maxAge = ctx.config.dpopProofMaxAge;
  if (iat > now + skew) throw invalidProof('iat in the future');
  if (iat < now - maxAge - skew) throw invalidProof('proof too old');
  // Check 10: "If the server provided a nonce value to the client, the nonce claim matches the server-provided nonce value."
  let fresh: string | undefined;
  if (ctx.config.dpopNonce) {
    fresh = dpopNonce(ctx);
    if (!nonceValid(ctx, p.nonce)) {
      throw new OAuthError('use_dpop_nonce', 'authorization server requires nonce in DPoP proof', {
        detail: p.nonce === undefined ? 'no nonce' : 'stale or unknown nonce',
        headers: { 'dpop-nonce': fresh },
      });
    }
  }
  // RFC 9449 §11.1: proofs are single-use — remembered until they would be too old to accept anyway.
  if (!(await ctx.useOnce(`dpop:${pk.jkt}:${jti}`, iat + maxAge + 2 * skew))) throw invalidProof('DPoP proof jti replayed');
  return { jkt: pk.jkt, nonce: fresh };
}

/**
 * DPoP-bound access tokens (RFC 9449): a `DPoP` header → `token_type: "DPoP"`, `cnf.jkt` (§5, §6.1);
 * a client registered with `dpop_bound_access_tokens: true` must send a proof (§5.2) → else 400
 * invalid_request. First in the token endpoint's binders (tokens/binding.ts `SenderConstraints`): a
 * DPoP proof wins over a client certificate.
 */
export function dpopBinder(ctx: DpopContext): Binder<'dpop'> {
  return {
    kind: 'dpop',
    metadata: { dpop_signing_alg_values_supported: [...DPOP_ALGS] },
    async bind(req, subject) {
      if (req.headers.dpop !== undefined) {
        const { jkt, nonce } = await validateDpopProof(req, ctx);
        return { cnf: { jkt }, tokenType: 'DPoP', ...(nonce ? { headers: { 'dpop-nonce': nonce } } : {}) };
      }
      if (subject.client.record.extra.dpop_bound_access_tokens === true) throw invalidRequest('this client must send a DPoP proof (dpop_bound_access_tokens)');
      return undefined;
    },
  };
}
