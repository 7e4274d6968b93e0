import type { KeyObject, X509Certificate } from 'node:crypto';
import { algFitsKeyType, hasPrivateMembers, isAsymmetricAlg, jwkFitsAlg, TwoGenerationMap, validatePublicJwk } from '@latchkey/jose-core';
import type { Config } from '../config.js';
import type { CachedClient } from '../store/client-cache.js';
import { createOutbound, OutboundError, type Outbound } from '../outbound/index.js';
import type { ClientRecord } from '../store/types.js';

/**
 * Asymmetric JWS algorithms (RFC 7518 §3, RFC 8037), the private-key member list (RFC 7518 §6.2.2,
 * §6.3.2, §6.4; RFC 8037 §2) and its check: `@latchkey/jose-core`'s one copy of each.
 */
export { ASYMMETRIC_ALGS, PRIVATE_JWK_MEMBERS, hasPrivateMembers } from '@latchkey/jose-core';

/**
 * The key type (and curve) an algorithm needs, so a key is never used with an algorithm of another
 * family. `EdDSA` means Ed25519 only: SPEC §8 lists no other Edwards curve, so Ed448 keys never fit.
 */
export function keyFitsAlg(jwk: Record<string, unknown>, alg: string): boolean {
  return isAsymmetricAlg(alg) && algFitsKeyType(alg, jwk.kty, jwk.crv);
}

/** Why a key could not be found; logged only (the client always sees invalid_client). */
export class ClientKeyError extends Error {
  constructor(readonly code: 'ERR_JWKS_FETCH' | 'ERR_JWKS_INVALID' | 'ERR_JWKS_NO_MATCHING_KEY' | 'ERR_JWKS_URI_REFUSED', message: string) {
    super(message);
    this.name = 'ClientKeyError';
  }
}

const MAX_REMOTE_ENTRIES = 10_000;

interface KeySet {
  keys: Record<string, unknown>[];
  /** Imported keys by `${index}:${alg}`. */
  imported: Map<string, KeyObject>;
}

interface RemoteEntry {
  uri: string;
  set: KeySet | undefined;
  fetchedAt: number;
  /** No new fetch before this time (cool-down after any fetch, successful or not). */
  nextFetchAt: number;
  inflight: Promise<void> | undefined;
  lastError: string | undefined;
}

function toKeySet(doc: unknown): KeySet {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
    throw new ClientKeyError('ERR_JWKS_INVALID', 'the JWKS is not an object with a "keys" array (RFC 7517 §5)');
  }
  const keys = (doc as { keys: unknown[] }).keys.filter((k): k is Record<string, unknown> => typeof k === 'object' && k !== null && !Array.isArray(k));
  if (keys.length > 100) throw new ClientKeyError('ERR_JWKS_INVALID', 'the JWKS holds more than 100 keys');
  // A JWKS that publishes private key material is compromised: refuse it as a whole.
  if (keys.some(hasPrivateMembers)) throw new ClientKeyError('ERR_JWKS_INVALID', 'the JWKS contains private or symmetric key material');
  return { keys, imported: new Map() };
}

/**
 * The keys a client registered (RFC 7591 §2 `jwks` / `jwks_uri`), for client assertions (RFC 7523)
 * and self-signed certificates (RFC 8705 §2.2). One instance per server process.
 *
 * - inline `jwks`: parsed and imported once per client record (a record change replaces the object);
 * - `jwks_uri`: fetched with a timeout, a size limit and no redirects; cached for `jwksCacheTtl`;
 *   fetched again when a `kid` is unknown, at most once per `jwksRefreshCooldown` per client
 *   (a flood of made-up kids costs one fetch per cool-down); concurrent fetches are single-flight.
 *   A failed refresh keeps the last good set.
 *
 * Does not check: certificate chains in `x5c` (RFC 8705 §2.2 self-signed certificates are
 * trusted because they are registered, not because of who issued them).
 */
export class ClientKeys {
  #inline = new WeakMap<ClientRecord, KeySet>();
  /** Bounded (entries of deleted clients age out): two generations, an entry in use stays (TwoGenerationMap). */
  readonly #remote = new TwoGenerationMap<string, RemoteEntry>(Math.ceil(MAX_REMOTE_ENTRIES / 2));

  readonly #outbound: Outbound;

  constructor(
    private readonly config: Config,
    outbound: Outbound = createOutbound({ issuer: config.issuer, allow: config.outboundAllow }),
  ) {
    this.#outbound = outbound;
  }

  async #remoteSet(record: ClientRecord, forceRefresh: boolean): Promise<KeySet | undefined> {
    const uri = record.jwks_uri!;
    let e = this.#remote.touch(record.client_id);
    if (!e || e.uri !== uri) {
      e = { uri, set: undefined, fetchedAt: 0, nextFetchAt: 0, inflight: undefined, lastError: undefined };
      this.#remote.set(record.client_id, e);
    }
    const now = Date.now();
    const stale = !e.set || now - e.fetchedAt > this.config.jwksCacheTtl * 1000;
    if ((stale || forceRefresh) && now >= e.nextFetchAt) {
      const entry = e;
      entry.inflight ??= this.#fetch(uri)
        .then(
          (set) => {
            entry.set = set;
            entry.fetchedAt = Date.now();
            entry.lastError = undefined;
          },
          (err: Error) => {
            entry.lastError = err.message;
          },
        )
        .finally(() => {
          entry.nextFetchAt = Date.now() + this.config.jwksRefreshCooldown * 1000;
          entry.inflight = undefined;
        });
    }
    if (e.inflight) await e.inflight;
    if (!e.set) throw new ClientKeyError('ERR_JWKS_FETCH', `jwks_uri could not be used: ${e.lastError ?? 'not fetched yet (cool-down)'}`);
    return e.set;
  }

  async #fetch(uri: string): Promise<KeySet> {
    // SPEC §8: every outbound fetch goes through the outbound policy (https, no internal addresses at
    // connect unless outboundAllow, ≤ 2 s connect, bounded size and time, no redirects).
    let doc: unknown;
    try {
      doc = await this.#outbound.fetchJson(uri, { maxBytes: this.config.jwksMaxBytes, timeoutMs: this.config.jwksFetchTimeout, accept: 'application/jwk-set+json, application/json' });
    } catch (e) {
      if (e instanceof OutboundError) throw new ClientKeyError(e.code === 'ERR_OUTBOUND_URL_REFUSED' ? 'ERR_JWKS_URI_REFUSED' : e.code === 'ERR_OUTBOUND_NOT_JSON' ? 'ERR_JWKS_INVALID' : 'ERR_JWKS_FETCH', `jwks_uri: ${e.code}: ${e.message}`);
      throw e;
    }
    return toKeySet(doc);
  }

  #inlineSet(record: ClientRecord): KeySet | undefined {
    if (!record.jwks) return undefined;
    let set = this.#inline.get(record);
    if (!set) {
      set = toKeySet(record.jwks);
      this.#inline.set(record, set);
    }
    return set;
  }

  async #set(client: CachedClient, forceRefresh = false): Promise<KeySet | undefined> {
    const r = client.record;
    if (r.jwks) return this.#inlineSet(r);
    if (r.jwks_uri) return this.#remoteSet(r, forceRefresh);
    return undefined;
  }

  static #candidates(set: KeySet, alg: string, kid: string | undefined): number[] {
    const out: number[] = [];
    set.keys.forEach((k, i) => {
      if (kid !== undefined && k.kid !== kid) return;
      // kty/crv fit the alg; RFC 7517 §4.2/§4.3: not a key meant for encryption only; §4.4: a key that
      // names its algorithm is used with that algorithm only (EdDSA ≡ Ed25519, RFC 9864 §2).
      if (!isAsymmetricAlg(alg) || !jwkFitsAlg(k, alg)) return;
      out.push(i);
    });
    return out;
  }

  #import(set: KeySet, i: number): KeyObject {
    const id = String(i);
    let key = set.imported.get(id);
    if (!key) {
      // SPEC §8 through the core's one JWK validation (RSA 2048–8192/e = 65537, curves on their points,
      // Ed25519 only); a fetched set's unknown members are ignored (RFC 7517 §4). Throws JoseError.
      key = validatePublicJwk(set.keys[i], 'verification').key;
      set.imported.set(id, key);
    }
    return key;
  }

  /**
   * Verification keys of `client` that fit a JWS header `{alg, kid}`: with a `kid`, the keys with that
   * kid (fetching jwks_uri again once if none); without one, the client's only key (SPEC §8: with more
   * than one key registered, an assertion without `kid` is refused — no trying keys in turn).
   * Throws ClientKeyError when there is none.
   */
  async verificationKeys(client: CachedClient, alg: string, kid: string | undefined): Promise<KeyObject[]> {
    let set = await this.#set(client);
    if (!set) throw new ClientKeyError('ERR_JWKS_NO_MATCHING_KEY', 'the client has no registered keys');
    if (kid === undefined && set.keys.length > 1) throw new ClientKeyError('ERR_JWKS_NO_MATCHING_KEY', `the client has ${set.keys.length} keys: the assertion must name one with kid`);
    let idx = ClientKeys.#candidates(set, alg, kid);
    if (idx.length === 0 && kid !== undefined && client.record.jwks_uri) {
      // Unknown kid: the client may have rotated its keys (rate-limited by the cool-down).
      set = await this.#set(client, true);
      idx = set ? ClientKeys.#candidates(set, alg, kid) : [];
    }
    if (idx.length === 0) throw new ClientKeyError('ERR_JWKS_NO_MATCHING_KEY', `no registered key fits alg ${alg}${kid === undefined ? '' : ` and kid ${kid}`}`);
    const keys: KeyObject[] = [];
    for (const i of idx.slice(0, 5)) {
      try {
        keys.push(this.#import(set!, i));
      } catch {
        // A malformed registered key is skipped, not fatal for the others.
      }
    }
    if (keys.length === 0) throw new ClientKeyError('ERR_JWKS_INVALID', 'no usable registered key (import failed)');
    return keys;
  }

  /**
   * RFC 8705 §2.2: whether `cert` is one of the client's registered self-signed certificates, i.e.
   * the first `x5c` entry of one of its JWKs (compared as DER bytes). Fetches jwks_uri again once
   * (rate-limited) when nothing matches.
   */
  async hasCertificate(client: CachedClient, cert: X509Certificate): Promise<boolean> {
    const match = (set: KeySet | undefined) =>
      !!set?.keys.some((k) => {
        const x5c = k.x5c;
        if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') return false;
        try {
          return Buffer.from(x5c[0], 'base64').equals(cert.raw);
        } catch {
          return false;
        }
      });
    if (match(await this.#set(client))) return true;
    if (!client.record.jwks_uri) return false;
    return match(await this.#set(client, true));
  }
}
