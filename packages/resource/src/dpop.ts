import { createHash, type KeyObject } from 'node:crypto';
import { createVerifier, importPublicJwk, isSupportedAlgorithm, jwkAllows, type JwsAlgorithm, type PublicJwk } from './algorithms.js';
import { ResourceError } from './errors.js';
import { isObject } from './http-json.js';
import { ExpiringLru } from './lru.js';
import { normalizeTyp } from './options.js';

/**
 * Remembers DPoP proof `jti`s for the replay window (RFC 9449 §11.1). Implement
 * it over Redis or similar when several API instances share traffic.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAt` (ms since epoch). Returns `true` if it was
   * not already present (first use), `false` if it is a replay.
   */
  checkAndStore(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * In-process replay store. Bounded: when full it forgets the entries closest
 * to expiry first. Size it above (requests per second × replay window); one
 * process only.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #clock: () => number;
  constructor(maxEntries = 100_000, clock: () => number = Date.now) {
    this.#max = maxEntries;
    this.#clock = clock;
  }
  checkAndStore(key: string, expiresAt: number, now = this.#clock()): boolean {
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    if (until !== undefined) this.#seen.delete(key);
    if (this.#seen.size >= this.#max) {
      // Insertion order ≈ expiry order (constant window), so the first entries are the oldest.
      for (const [k, exp] of this.#seen) {
        if (this.#seen.size < this.#max || exp > now) break;
        this.#seen.delete(k);
      }
      if (this.#seen.size >= this.#max) {
        const first = this.#seen.keys().next();
        if (!first.done) this.#seen.delete(first.value);
      }
    }
    this.#seen.set(key, expiresAt);
    return true;
  }
  get size(): number {
    return this.#seen.size;
  }
}

export interface DpopCheckOptions {
  algorithms: ReadonlySet<string>;
  /** Seconds a proof stays acceptable after its `iat` (RFC 9449 §4.3 step 11 "acceptable window"). */
  maxAge: number;
  clockTolerance: number;
  replayStore: ReplayStore;
}

export interface DpopRequestFacts {
  proof: string;
  method: string;
  /** The request URI without query and fragment, as the resource server sees it. */
  htu: string;
  accessToken: string;
  /** The token's `cnf.jkt` (RFC 9449 §6). */
  jkt: string;
  now: number;
}

const keyCache = new ExpiringLru<{ jwkKey: KeyObject }>(1000);
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: PublicJwk): string {
  let canonical: string;
  switch (jwk.kty) {
    case 'EC': canonical = JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y }); break;
    case 'RSA': canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }); break;
    case 'OKP': canonical = JSON.stringify({ crv: jwk.crv, kty: 'OKP', x: jwk.x }); break;
    default: throw new TypeError('unsupported kty');
  }
  return createHash('sha256').update(canonical).digest('base64url');
}

function fail(detail: string): never {
  throw new ResourceError('ERR_DPOP_PROOF_INVALID', detail);
}

/** Normalises an absolute URI for `htu` comparison: RFC 9449 §4.3 step 9 compares "without query and fragment parts", after RFC 3986 §6.2.2/§6.2.3 normalisation. */
export function normalizeHtu(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Verifies a DPoP proof for a protected-resource request: RFC 9449 §4.3 steps
 * 2–12 and §7.1 (`ath`, key binding). Throws {@link ResourceError}. Does not
 * support server-provided nonces (§8, §9): a proof carrying `nonce` is judged
 * on the other checks only.
 */
export async function verifyDpopProof(facts: DpopRequestFacts, options: DpopCheckOptions): Promise<void> {
  const { proof } = facts;
  // Step 2: "a single well-formed JWT".
  if (proof.length > 8192 || !JWS.test(proof)) fail('not a compact JWS');
  const [h, p, s] = proof.split('.') as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    fail('header or payload is not JSON');
  }
  if (!isObject(header) || !isObject(payload)) fail('header or payload is not a JSON object');
  // Step 4: "the typ JOSE Header Parameter has the value dpop+jwt".
  // RFC 7515 §4.1.9: "application/dpop+jwt" names the same media type.
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== 'dpop+jwt') fail('typ is not dpop+jwt');
  // Step 5: "the alg JOSE Header Parameter indicates a registered asymmetric digital signature algorithm [...], is not none, is supported by the application, and is acceptable per local policy".
  const alg = header.alg;
  if (!isSupportedAlgorithm(alg) || !options.algorithms.has(alg)) fail('alg not allowed');
  if (header.crit !== undefined) fail('crit not supported');
  const jwk = header.jwk;
  if (!isObject(jwk)) fail('jwk header missing');
  // Step 7: "the public key in the jwk JOSE Header Parameter does not contain a private key".
  for (const m of PRIVATE_MEMBERS) if (jwk[m] !== undefined) fail('jwk contains private key material');
  if (!jwkAllows(jwk as PublicJwk, alg as JwsAlgorithm)) fail('jwk does not fit alg');
  let thumbprint: string;
  try {
    thumbprint = jwkThumbprint(jwk as PublicJwk);
  } catch {
    fail('jwk not usable');
  }
  // Step 3: all required claims present (typ, alg, jwk checked above).
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) fail('jti missing');
  if (typeof payload.htm !== 'string') fail('htm missing');
  if (typeof payload.htu !== 'string') fail('htu missing');
  if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) fail('iat missing');
  // Step 6: "the JWT signature verifies with the public key contained in the jwk JOSE Header Parameter".
  let cached = keyCache.get(thumbprint, 0);
  if (cached === undefined) {
    try {
      cached = { jwkKey: importPublicJwk(jwk as PublicJwk) };
    } catch {
      fail('jwk not importable');
    }
    keyCache.set(thumbprint, cached, Number.POSITIVE_INFINITY);
  }
  const verifier = createVerifier(cached.jwkKey, alg as JwsAlgorithm, undefined);
  const signature = Buffer.from(s, 'base64url');
  if (signature.toString('base64url') !== s) fail('non-canonical base64url signature');
  if (!verifier.verify(Buffer.from(`${h}.${p}`, 'latin1'), signature)) fail('signature invalid');
  // Step 8: "the htm claim matches the HTTP method of the current request".
  if (payload.htm !== facts.method) fail('htm mismatch');
  // Step 9: "the htu claim matches the HTTP URI value for the HTTP request in which the JWT was received, ignoring any query and fragment parts".
  if (normalizeHtu(payload.htu) !== facts.htu) fail('htu mismatch');
  // Step 11: iat "within an acceptable window".
  const iat = payload.iat;
  if (iat > facts.now + options.clockTolerance) fail('iat in the future');
  if (iat < facts.now - options.maxAge - options.clockTolerance) fail('proof too old');
  // Step 12 / §7.1: "ath" = base64url(SHA-256(ASCII(access token))).
  if (typeof payload.ath !== 'string') fail('ath missing');
  if (payload.ath !== createHash('sha256').update(facts.accessToken, 'ascii').digest('base64url')) fail('ath mismatch');
  // §7.1: "the public key to which the access token is bound" must be the proof's key.
  if (thumbprint !== facts.jkt) {
    throw new ResourceError('ERR_DPOP_KEY_MISMATCH', 'proof key thumbprint differs from cnf.jkt');
  }
  // §11.1: a proof is single-use within its window.
  const fresh = await options.replayStore.checkAndStore(
    `${thumbprint}:${payload.jti}`,
    (iat + options.maxAge + options.clockTolerance) * 1000,
  );
  if (!fresh) throw new ResourceError('ERR_DPOP_PROOF_REPLAYED', 'jti already used');
}
