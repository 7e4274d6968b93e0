import { createDpopVerifier, DPOP_ALGS as CORE_DPOP_ALGS, JoseError, MAX_DPOP_PROOF_LENGTH, normalizeHtu, type DpopVerifier } from '@latchkey/jose-core';
import type { Config } from '../config.js';
import { invalidRequest, OAuthError } from '../shared/errors.js';
import type { OAuthRequest } from '../shared/oauth-request.js';
import type { Binder } from './binding.js';

/** What DPoP proof validation needs: its settings, the keyed hash for server nonces, the single-use store. */
export interface DpopContext {
  readonly config: Pick<Config, 'clockSkew' | 'dpopProofMaxAge' | 'dpopNonce'>;
  readonly hasher: { hash(value: string): string };
  useOnce(key: string, expSeconds: number): Promise<boolean>;
}

/** DPoP proof algorithms: asymmetric only (RFC 9449 §4.2: "MUST NOT be none or an identifier for a symmetric algorithm (MAC)"). */
export const DPOP_ALGS: readonly string[] = CORE_DPOP_ALGS;

export const MAX_PROOF_LENGTH = MAX_DPOP_PROOF_LENGTH;
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
  if (typeof htu !== 'string') return false;
  const expected = normalizeHtu(requestUrl);
  return expected !== undefined && normalizeHtu(htu) === expected;
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
export type DpopProofValidator = (req: OAuthRequest) => Promise<{ jkt: string; nonce: string | undefined }>;

/**
 * The DPoP proof validator of one server: its core verifier (with the bounded cache of imported proof
 * keys — a client reuses its DPoP key for many proofs) lives with it, not in a module-global map.
 */
export function dpopProofValidator(ctx: DpopContext): DpopProofValidator {
  const verifier = createDpopVerifier({ maxAge: ctx.config.dpopProofMaxAge, clockTolerance: ctx.config.clockSkew });
  return (req) => validateDpopProof(req, ctx, verifier);
}

async function validateDpopProof(req: OAuthRequest, ctx: DpopContext, verifier: DpopVerifier): Promise<{ jkt: string; nonce: string | undefined }> {
  const skew = ctx.config.clockSkew;
  // Check 10 needs the nonce this node would issue now (RFC 9449 §8): also sent back with use_dpop_nonce.
  const fresh = ctx.config.dpopNonce ? dpopNonce(ctx) : undefined;
  try {
    // @latchkey/jose-core's one DPoP verifier (the same @latchkey/resource uses): checks 1–11 of RFC 9449 §4.3.
    const { jkt } = await verifier.verify({
      proof: req.headers.dpop,
      method: req.method,
      url: req.url,
      now: Math.floor(Date.now() / 1000),
      ...(fresh !== undefined ? { nonce: (n: unknown) => nonceValid(ctx, n) } : {}),
      // RFC 9449 §11.1: proofs are single-use — remembered (across nodes) until they would be too old to accept anyway.
      replay: (key, jti, expiresAt) => ctx.useOnce(`dpop:${key}:${jti}`, expiresAt + skew),
    });
    return { jkt, nonce: fresh };
  } catch (e) {
    if (!(e instanceof JoseError)) throw e;
    if (e.code === 'ERR_DPOP_NONCE') {
      throw new OAuthError('use_dpop_nonce', 'authorization server requires nonce in DPoP proof', { detail: e.message, headers: { 'dpop-nonce': fresh! } });
    }
    throw invalidProof(`${e.code}: ${e.message}`);
  }
}

/**
 * DPoP-bound access tokens (RFC 9449): a `DPoP` header → `token_type: "DPoP"`, `cnf.jkt` (§5, §6.1);
 * a client registered with `dpop_bound_access_tokens: true` must send a proof (§5.2) → else 400
 * invalid_request. First in the token endpoint's binders (tokens/binding.ts `SenderConstraints`): a
 * DPoP proof wins over a client certificate.
 */
export function dpopBinder(ctx: DpopContext): Binder<'dpop'> {
  const validate = dpopProofValidator(ctx);
  return {
    kind: 'dpop',
    metadata: { dpop_signing_alg_values_supported: [...DPOP_ALGS] },
    async bind(req, subject) {
      if (req.headers.dpop !== undefined) {
        const { jkt, nonce } = await validate(req);
        return { cnf: { jkt }, tokenType: 'DPoP', ...(nonce ? { headers: { 'dpop-nonce': nonce } } : {}) };
      }
      if (subject.client.record.extra.dpop_bound_access_tokens === true) throw invalidRequest('this client must send a DPoP proof (dpop_bound_access_tokens)');
      return undefined;
    },
  };
}
