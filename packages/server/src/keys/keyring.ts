import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Store } from '../store/store.js';
import type { SigningKeyRecord } from '../store/types.js';
import { createJwsSigner, type JwsSigner, type SigningAlg } from './jws.js';
import type { Sealer } from './seal.js';

export type KeyStateName = 'next' | 'current' | 'retired';

interface LoadedKey {
  record: SigningKeyRecord;
  signer: JwsSigner;
  publicKey: KeyObject;
  jwk: JWK;
}

const aad = (kid: string) => `signing-key:${kid}`;

/**
 * A key retired no later than it would have started signing: a "next" key that a later rotation (with a
 * shorter pre-publication) replaced. It never signs, even once its activation time has passed.
 */
const superseded = (r: SigningKeyRecord) => r.retired_at != null && r.retired_at <= r.activate_at;

export function generateKeyPair(alg: SigningAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

/**
 * Signing keys. State is derived from times stored with each key, so every node reading the same
 * store agrees on it without coordination (SPEC §3 "Signing keys"):
 * - published in the JWKS from `publish_at` until `expires_at`;
 * - the signing key is the one with the greatest `activate_at` <= now ("current");
 * - a key whose `activate_at` is in the future is "next": published, not signing;
 * - an older key is "retired": published until every token it signed has expired.
 */
export class Keyring {
  #keys = new Map<string, LoadedKey>();
  #jwksCache: { at: number; body: string; until: number } | undefined;
  #current: { key: LoadedKey; until: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly opts: { alg: SigningAlg; prePublishSeconds: number; maxTokenTtlSeconds: number },
  ) {}

  /** (Re)loads all keys from the store. Unchanged keys keep their decrypted KeyObjects. */
  async load(): Promise<void> {
    const records = await this.store.listKeys();
    const next = new Map<string, LoadedKey>();
    for (const r of records) {
      const existing = this.#keys.get(r.kid);
      if (existing) {
        next.set(r.kid, { ...existing, record: r });
        continue;
      }
      let pem: string;
      try {
        pem = this.sealer.open(r.private_sealed, aad(r.kid)).toString('utf8');
      } catch {
        throw new Error(`cannot decrypt signing key ${r.kid}: this node's key-encryption key (LATCHKEY_KEK or DATA_DIR/kek) is not the one the store was created with`);
      }
      const privateKey = createPrivateKey(pem);
      const jwk = { ...r.public_jwk, kid: r.kid, alg: r.alg, use: 'sig' } as JWK;
      next.set(r.kid, {
        record: r,
        signer: createJwsSigner(privateKey, r.alg, r.kid),
        publicKey: createPublicKey(privateKey),
        jwk,
      });
    }
    this.#keys = next;
    this.#jwksCache = undefined;
    this.#current = undefined;
  }

  /** First start: create a key that signs at once. */
  async ensureKey(): Promise<void> {
    if (this.#keys.size === 0) {
      const now = Date.now();
      await this.create(this.opts.alg, now, now);
      await this.load();
    }
  }

  private async create(alg: SigningAlg, publishAt: number, activateAt: number): Promise<SigningKeyRecord> {
    const { privateKey, publicKey } = generateKeyPair(alg);
    const pub = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    const rec: SigningKeyRecord = {
      kid,
      alg,
      public_jwk: pub,
      private_sealed: this.sealer.seal(privateKey.export({ format: 'pem', type: 'pkcs8' }), aad(kid)),
      created_at: Date.now(),
      publish_at: publishAt,
      activate_at: activateAt,
      retired_at: null,
      expires_at: null,
    };
    await this.store.insertKey(rec);
    return rec;
  }

  /**
   * Rotation: publish the next key now, let it sign after the pre-publication interval, and schedule
   * the keys it replaces to leave the JWKS once every token they may sign has expired.
   */
  async rotate(opts: { alg?: SigningAlg; prePublishSeconds?: number } = {}): Promise<SigningKeyRecord> {
    await this.load();
    const now = Date.now();
    const activateAt = now + 1000 * (opts.prePublishSeconds ?? this.opts.prePublishSeconds);
    const rec = await this.create(opts.alg ?? this.opts.alg, now, activateAt);
    for (const k of this.#keys.values()) {
      if (k.record.retired_at == null || k.record.retired_at > activateAt) {
        await this.store.updateKey(k.record.kid, {
          retired_at: activateAt,
          // + 60 s for clock skew at resource servers.
          expires_at: activateAt + 1000 * (this.opts.maxTokenTtlSeconds + 60),
        });
      }
    }
    await this.load();
    return rec;
  }

  /** Removes keys that are out of the JWKS for good. */
  async prune(now = Date.now()): Promise<number> {
    let n = 0;
    for (const k of this.#keys.values()) {
      if (k.record.expires_at != null && k.record.expires_at < now && this.signerAt(now)?.kid !== k.record.kid) {
        await this.store.deleteKey(k.record.kid);
        n++;
      }
    }
    if (n) await this.load();
    return n;
  }

  state(rec: SigningKeyRecord, now = Date.now()): KeyStateName {
    // A "next" key replaced by a later rotation before it ever signed: retired, never signs.
    if (superseded(rec)) return 'retired';
    if (rec.activate_at > now) return 'next';
    return this.signerAt(now)?.kid === rec.kid ? 'current' : 'retired';
  }

  private signerAt(now: number): JwsSigner | undefined {
    let best: LoadedKey | undefined;
    for (const k of this.#keys.values()) {
      if (superseded(k.record)) continue;
      if (k.record.activate_at <= now && (!best || k.record.activate_at > best.record.activate_at)) best = k;
    }
    return best?.signer;
  }

  /** The signer for tokens minted now. Cached until the next key's activation time. */
  signer(now = Date.now()): JwsSigner {
    const c = this.#current;
    if (c && now < c.until) return c.key.signer;
    let best: LoadedKey | undefined;
    let nextActivation = Infinity;
    for (const k of this.#keys.values()) {
      if (superseded(k.record)) continue;
      const a = k.record.activate_at;
      if (a <= now) {
        if (!best || a > best.record.activate_at) best = k;
      } else if (a < nextActivation) nextActivation = a;
    }
    if (!best) throw new Error('no active signing key');
    this.#current = { key: best, until: Math.min(nextActivation, now + 60_000) };
    return best.signer;
  }

  /** RFC 7517 JWK Set of the published keys: public parts only, each with kid, alg and use. */
  jwksJson(now = Date.now()): string {
    const c = this.#jwksCache;
    if (c && now < c.until) return c.body;
    let until = now + 60_000;
    const keys: JWK[] = [];
    for (const k of [...this.#keys.values()].sort((a, b) => b.record.activate_at - a.record.activate_at)) {
      const r = k.record;
      if (r.publish_at > now) {
        until = Math.min(until, r.publish_at);
        continue;
      }
      if (r.expires_at != null && r.expires_at <= now) continue;
      if (r.expires_at != null) until = Math.min(until, r.expires_at);
      keys.push(k.jwk);
    }
    const body = JSON.stringify({ keys });
    this.#jwksCache = { at: now, body, until };
    return body;
  }

  /** Public key by kid, for verifying our own tokens (introspection, admin API). Published keys only. */
  publicKey(kid: string, now = Date.now()): { key: KeyObject; alg: SigningAlg } | undefined {
    const k = this.#keys.get(kid);
    if (!k) return undefined;
    if (k.record.publish_at > now || (k.record.expires_at != null && k.record.expires_at <= now)) return undefined;
    return { key: k.publicKey, alg: k.record.alg };
  }

  list(now = Date.now()): (SigningKeyRecord & { state: KeyStateName })[] {
    return [...this.#keys.values()]
      .map((k) => ({ ...k.record, state: this.state(k.record, now) }))
      .sort((a, b) => b.activate_at - a.activate_at);
  }
}
