import { createVerifier, JoseError, validatePublicJwk, type AsymmetricAlg, type Verifier } from '@latchkey/jose-core';
import type { Outbound } from '../../outbound/index.js';
import { OutboundError } from '../../outbound/index.js';
import type { Store } from '../../store/store.js';
import type { ChangeEvent, TrustedIssuerRecord } from '../../store/types.js';

/** Why a trusted issuer's keys could not be used; logged only (callers answer invalid_client). */
export class IssuerKeyError extends Error {
  constructor(
    readonly code: 'ERR_ISSUER_KEYS_FETCH' | 'ERR_ISSUER_KEYS_INVALID' | 'ERR_ISSUER_NO_MATCHING_KEY' | 'ERR_ISSUER_KID_REQUIRED',
    message: string,
  ) {
    super(message);
    this.name = 'IssuerKeyError';
  }
}

export interface TrustedIssuerKeysOptions {
  /** Seconds a fetched key set is used before it is fetched again (jwksCacheTtl). */
  readonly cacheTtlSeconds: number;
  /** Minimum seconds between two fetches for one issuer — unknown kids, failures (jwksRefreshCooldown). */
  readonly refreshCooldownSeconds: number;
  /** Per-fetch bound (jwksFetchTimeout, ms). */
  readonly fetchTimeoutMs: number;
  /** Largest accepted discovery/JWKS document (jwksMaxBytes). */
  readonly maxBytes: number;
}

/** Most keys taken from one issuer document (a Kubernetes cluster publishes one or two). */
export const MAX_ISSUER_KEYS = 100;

interface UsableKey {
  readonly kid: string | undefined;
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly verifiers: Map<AsymmetricAlg, Verifier>;
  readonly key: ReturnType<typeof validatePublicJwk>['key'];
}

interface KeySet {
  readonly keys: readonly UsableKey[];
  /** Keys the document held that were skipped, with why (for `trust show` and the logs). */
  readonly skipped: readonly string[];
  /** SPIFFE bundles only: the bundle's `spiffe_refresh_hint` (seconds), when it is a positive integer. */
  readonly refreshHintSeconds?: number;
}

/**
 * Parses a JWKS (RFC 7517 §5) — from a file given at `trust add`, a `jwks_uri`, or a SPIFFE bundle
 * (SPIFFE Trust Domain and Bundle §4: `use` "jwt-svid" marks a JWT-SVID signing key, "x509-svid" an
 * X.509 authority, which is skipped). Every key goes through the JOSE core's one JWK validation
 * (`validatePublicJwk`, SPEC §8 key rules); keys that fail are skipped, not fatal for the others.
 */
export function parseIssuerJwks(doc: unknown, kind: TrustedIssuerRecord['kind']): KeySet {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
    throw new IssuerKeyError('ERR_ISSUER_KEYS_INVALID', 'not a JWK Set (an object with a "keys" array, RFC 7517 §5)');
  }
  const raw = (doc as { keys: unknown[] }).keys;
  if (raw.length > MAX_ISSUER_KEYS) throw new IssuerKeyError('ERR_ISSUER_KEYS_INVALID', `more than ${MAX_ISSUER_KEYS} keys`);
  const keys: UsableKey[] = [];
  const skipped: string[] = [];
  raw.forEach((k, i) => {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) return void skipped.push(`#${i}: not an object`);
    let jwk = k as Record<string, unknown>;
    if (kind === 'spiffe' && jwk.use === 'x509-svid') return void skipped.push(`#${i}: x509-svid authority`);
    if (kind === 'spiffe' && jwk.use === 'jwt-svid') {
      const { use: _use, ...rest } = jwk;
      jwk = rest;
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') return void skipped.push(`#${i}: use ${JSON.stringify(jwk.use)}`);
    try {
      const v = validatePublicJwk(jwk, 'verification');
      keys.push({ kid: v.kid, jwk, key: v.key, verifiers: new Map() });
    } catch (e) {
      skipped.push(`#${i}: ${e instanceof JoseError ? e.message : 'invalid key'}`);
    }
  });
  // SPIFFE Trust Domain and Bundle §4.1.2: how often a consumer should poll the bundle endpoint for changes.
  const hint = (doc as { spiffe_refresh_hint?: unknown }).spiffe_refresh_hint;
  return kind === 'spiffe' && Number.isSafeInteger(hint) && (hint as number) > 0 ? { keys, skipped, refreshHintSeconds: hint as number } : { keys, skipped };
}

/** Whether a JWK may verify `alg` (RFC 7518 §3 key types; RFC 7517 §4.4 `alg` on the key). */
function fits(jwk: Readonly<Record<string, unknown>>, alg: AsymmetricAlg): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === 'EdDSA' && jwk.alg === 'Ed25519') && !(alg === 'Ed25519' && jwk.alg === 'EdDSA')) return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  switch (alg) {
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'ES512':
      return jwk.kty === 'EC' && jwk.crv === 'P-521';
    case 'EdDSA':
    case 'Ed25519':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
    default:
      return jwk.kty === 'RSA';
  }
}

/** One trusted issuer with its keys (cached; remote keys refreshed with a cool-down, single-flight). */
export class TrustedIssuer {
  #set: KeySet | undefined;
  #fetchedAt = 0;
  #nextFetchAt = 0;
  #inflight: Promise<void> | undefined;
  #lastError: string | undefined;
  /** Number of remote fetches made (discovery + JWKS count as one); exposed for tests and `trust show`. */
  fetches = 0;

  constructor(
    readonly record: TrustedIssuerRecord,
    private readonly outbound: Outbound,
    private readonly opts: TrustedIssuerKeysOptions,
  ) {
    if (record.jwks) this.#set = parseIssuerJwks(record.jwks, record.kind);
  }

  get remote(): boolean {
    return !this.record.jwks;
  }

  async #fetchRemote(): Promise<KeySet> {
    this.fetches++;
    const bound = { maxBytes: this.opts.maxBytes, timeoutMs: this.opts.fetchTimeoutMs };
    try {
      let uri = this.record.jwks_uri;
      if (!uri) {
        // OpenID Connect Discovery 1.0 §4: issuer + "/.well-known/openid-configuration"; §4.3: the
        // document's issuer MUST be identical to the issuer it was fetched for.
        const meta = await this.outbound.fetchJson(`${this.record.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { ...bound, accept: 'application/json' });
        if (typeof meta !== 'object' || meta === null) throw new IssuerKeyError('ERR_ISSUER_KEYS_INVALID', 'discovery document is not a JSON object');
        const m = meta as { issuer?: unknown; jwks_uri?: unknown };
        if (m.issuer !== this.record.issuer) throw new IssuerKeyError('ERR_ISSUER_KEYS_INVALID', `discovery document names issuer ${String(m.issuer)} (OIDC Discovery §4.3)`);
        if (typeof m.jwks_uri !== 'string') throw new IssuerKeyError('ERR_ISSUER_KEYS_INVALID', 'discovery document has no jwks_uri');
        uri = m.jwks_uri;
      }
      const doc = await this.outbound.fetchJson(uri, { ...bound, accept: 'application/jwk-set+json, application/json' });
      return parseIssuerJwks(doc, this.record.kind);
    } catch (e) {
      if (e instanceof OutboundError) throw new IssuerKeyError('ERR_ISSUER_KEYS_FETCH', `${e.code}: ${e.message}`);
      throw e;
    }
  }

  async #keySet(forceRefresh: boolean): Promise<KeySet> {
    if (this.remote) {
      const now = Date.now();
      // A SPIFFE bundle's refresh hint shortens the cache time (never lengthens it: jwksCacheTtl is the most staleness
      // the operator accepts); the refresh cool-down still bounds how often a short hint can make us fetch.
      const ttl = Math.min(this.opts.cacheTtlSeconds, this.#set?.refreshHintSeconds ?? Infinity);
      const stale = !this.#set || now - this.#fetchedAt > ttl * 1000;
      if ((stale || forceRefresh) && now >= this.#nextFetchAt) {
        this.#inflight ??= this.#fetchRemote()
          .then(
            (set) => {
              this.#set = set;
              this.#fetchedAt = Date.now();
              this.#lastError = undefined;
            },
            (e: Error) => {
              // A failed refresh keeps the last good set.
              this.#lastError = e.message;
            },
          )
          .finally(() => {
            this.#nextFetchAt = Date.now() + this.opts.refreshCooldownSeconds * 1000;
            this.#inflight = undefined;
          });
      }
      if (this.#inflight) await this.#inflight;
    }
    if (!this.#set) throw new IssuerKeyError('ERR_ISSUER_KEYS_FETCH', `keys unavailable: ${this.#lastError ?? 'not fetched yet (cool-down)'}`);
    return this.#set;
  }

  static #candidates(set: KeySet, alg: AsymmetricAlg, kid: string | undefined): UsableKey[] {
    return set.keys.filter((k) => (kid === undefined || k.kid === kid) && fits(k.jwk, alg));
  }

  /**
   * The verifier for a token header `{alg, kid}`: with a `kid`, the key with that kid (the keys are
   * fetched again once when none has it, at most once per cool-down — a flood of made-up kids costs one
   * fetch per cool-down); without one, the only key that fits `alg` (SPEC §8: with more than one key, a
   * token without `kid` is refused).
   */
  async verifier(alg: AsymmetricAlg, kid: string | undefined): Promise<Verifier> {
    let set = await this.#keySet(false);
    let found = TrustedIssuer.#candidates(set, alg, kid);
    if (found.length === 0 && kid !== undefined && this.remote) {
      set = await this.#keySet(true);
      found = TrustedIssuer.#candidates(set, alg, kid);
    }
    if (found.length === 0) throw new IssuerKeyError('ERR_ISSUER_NO_MATCHING_KEY', `no key of issuer ${this.record.name} fits alg ${alg}${kid === undefined ? '' : ` and kid ${kid}`}`);
    if (found.length > 1) throw new IssuerKeyError('ERR_ISSUER_KID_REQUIRED', `${found.length} keys of issuer ${this.record.name} fit; the token must name one with kid`);
    const k = found[0]!;
    let v = k.verifiers.get(alg);
    if (!v) k.verifiers.set(alg, (v = createVerifier(k.key, alg)));
    return v;
  }

  /** For `trust show`: the key ids and anything skipped (fetches remote keys if needed). */
  async describeKeys(): Promise<{ kids: (string | null)[]; skipped: readonly string[]; error?: string }> {
    try {
      const set = await this.#keySet(false);
      return { kids: set.keys.map((k) => k.kid ?? null), skipped: set.skipped };
    } catch (e) {
      return { kids: [], skipped: [], error: (e as Error).message };
    }
  }
}

/**
 * Every trusted issuer, in memory, by issuer identifier (the token's `iss`, or the SPIFFE trust domain),
 * kept fresh by the change feed (kind `trusted_issuer`): adding or removing an issuer reaches every
 * node within the poll interval. One instance per server process.
 */
export class TrustedIssuers {
  #byIssuer = new Map<string, TrustedIssuer>();
  #byName = new Map<string, TrustedIssuer>();

  constructor(
    private readonly store: Pick<Store, 'listTrustedIssuers' | 'getTrustedIssuer'>,
    private readonly outbound: Outbound,
    private readonly opts: TrustedIssuerKeysOptions,
  ) {}

  #make(r: TrustedIssuerRecord): TrustedIssuer | undefined {
    try {
      return new TrustedIssuer(r, this.outbound, this.opts);
    } catch {
      // A stored key file that no longer parses: the issuer is unusable, not the server.
      return undefined;
    }
  }

  async loadAll(): Promise<void> {
    const byIssuer = new Map<string, TrustedIssuer>();
    const byName = new Map<string, TrustedIssuer>();
    for (const r of await this.store.listTrustedIssuers()) {
      const t = this.#make(r);
      if (!t) continue;
      byIssuer.set(r.issuer, t);
      byName.set(r.name, t);
    }
    this.#byIssuer = byIssuer;
    this.#byName = byName;
  }

  /** Re-reads one issuer (after a change event); a removed issuer stops being trusted at once. */
  async refresh(name: string): Promise<void> {
    const r = await this.store.getTrustedIssuer(name);
    const old = this.#byName.get(name);
    if (old) {
      this.#byName.delete(name);
      if (this.#byIssuer.get(old.record.issuer) === old) this.#byIssuer.delete(old.record.issuer);
    }
    if (!r) return;
    const t = this.#make(r);
    if (!t) return;
    this.#byName.set(name, t);
    this.#byIssuer.set(r.issuer, t);
  }

  /** Change-feed handler: `feed.on(issuers.onChanges)`. */
  readonly onChanges = async (events: readonly ChangeEvent[]): Promise<void> => {
    for (const e of events) if (e.kind === 'trusted_issuer') await this.refresh(e.ref);
  };

  byIssuer(issuer: string): TrustedIssuer | undefined {
    return this.#byIssuer.get(issuer);
  }

  byName(name: string): TrustedIssuer | undefined {
    return this.#byName.get(name);
  }

  get size(): number {
    return this.#byName.size;
  }
}
