import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { errSummary } from '../shared/errors.js';
import type { Store } from '../store/store.js';
import type { Keyring } from './keyring.js';
import type { SigningKeyRecord } from '../store/types.js';

/** What one maintenance pass did (for logs and tests). */
export interface MaintenanceReport {
  /** The key created by the schedule in this pass, if any. */
  rotated?: SigningKeyRecord;
  /** False when another node held this interval's clean-up claim. */
  cleaned: boolean;
  deleted: { opaqueTokens: number; revocations: number; useOnce: number; secrets: number; keys: string[]; changes: number };
  /** Revoked jtis this node forgot from memory (their tokens expired). */
  sweptRevocations: number;
}

export interface MaintenanceOptions {
  /** Seconds between automatic rotations; 0 disables the schedule (config keyRotationPeriod). */
  rotationPeriodSeconds: number;
  /** Seconds a new key is published before it signs (config keyPrePublish). */
  prePublishSeconds: number;
  /** Milliseconds between passes (config maintenanceInterval × 1000). */
  intervalMs: number;
  /** Change-feed rows older than this are deleted (ms). Nodes catch up within a second; a day is ample. */
  changeRetentionMs?: number;
}

const DAY_MS = 86_400_000;

/** What maintenance works with. */
export interface MaintenanceDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  /** This node's revoked-jti memory (tokens/revocations.ts): forgets entries of expired tokens. */
  readonly revocations: { sweep(nowSeconds?: number): number };
  readonly log: Logger;
}

/**
 * Background lifecycle work, safe with any number of nodes on one store:
 *
 * - **Scheduled signing-key rotation.** Due when the newest key (greatest `activate_at`, manual rotations
 *   included) has been signing for `period − prePublish`, so its successor starts signing exactly one
 *   period after it did, having been in the JWKS for `prePublish` seconds. Several nodes may find it
 *   due at once; each first claims the single-use key `key-rotation:<newest kid>` in the store
 *   (`Store.useOnce`, atomic across nodes) and only the winner rotates. The claim lasts 5 minutes, so
 *   if the winner dies mid-way another node rotates after that. Every scheduled rotation is audited
 *   (`key.rotate`, actor `scheduler:<host>:<pid>`).
 * - **Clean-up**, at most once per interval across all nodes (claim `maintenance:<slot>`): expired
 *   opaque tokens, revocations of expired JWTs, expired single-use values, expired client secrets,
 *   signing keys past their JWKS expiry (audited `key.prune`), change-feed rows older than a day.
 *   All deletes are idempotent, so a lost claim or a double run costs time, never correctness.
 * - **This node's memory**: forgets revoked jtis whose tokens have expired.
 *
 * Failures (store down) are logged and retried on the next pass; they never stop the timer.
 */
export class Maintenance {
  #timer: NodeJS.Timeout | undefined;
  #first: NodeJS.Timeout | undefined;
  #running: Promise<MaintenanceReport | undefined> | undefined;
  readonly actor = `scheduler:${hostname()}:${process.pid}`;

  constructor(
    private readonly s: MaintenanceDeps,
    private readonly opts: MaintenanceOptions,
  ) {
    if (opts.rotationPeriodSeconds > 0 && opts.rotationPeriodSeconds <= opts.prePublishSeconds) {
      s.log.warn(
        { keyRotationPeriod: opts.rotationPeriodSeconds, keyPrePublish: opts.prePublishSeconds },
        'keyRotationPeriod is not longer than keyPrePublish: several unused keys will be published at once',
      );
    }
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.run(), this.opts.intervalMs);
    this.#timer.unref();
    // A first pass soon after start (a rotation may have fallen due while the cluster was down), at a
    // random moment so that nodes started together do not all hit the store at once.
    this.#first = setTimeout(() => void this.run(), Math.floor(Math.random() * Math.min(this.opts.intervalMs, 10_000)));
    this.#first.unref();
  }

  /** One pass; concurrent calls share the pass in flight. Never throws. */
  run(now?: number): Promise<MaintenanceReport | undefined> {
    if (this.#running) return this.#running;
    this.#running = this.tick(now ?? Date.now())
      .catch((e) => {
        this.s.log.warn({ err: errSummary(e) }, 'maintenance pass failed; retrying on the next one');
        return undefined;
      })
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#first) clearTimeout(this.#first);
    this.#timer = undefined;
    await this.#running;
  }

  /** One pass at time `now` (ms). Throws on store failure (run() catches). */
  async tick(now: number): Promise<MaintenanceReport> {
    const nowSec = Math.floor(now / 1000);
    const report: MaintenanceReport = {
      cleaned: false,
      deleted: { opaqueTokens: 0, revocations: 0, useOnce: 0, secrets: 0, keys: [], changes: 0 },
      sweptRevocations: this.s.revocations.sweep(nowSec),
    };
    const rotated = await this.rotateIfDue(now);
    if (rotated) report.rotated = rotated;

    const slot = Math.floor(now / this.opts.intervalMs);
    const claimFor = Math.ceil((2 * this.opts.intervalMs) / 1000);
    if (!(await this.s.store.useOnce(`maintenance:${slot}`, nowSec + claimFor))) return report;
    report.cleaned = true;
    const st = this.s.store;
    report.deleted.opaqueTokens = await st.deleteExpiredOpaqueTokens(nowSec);
    report.deleted.revocations = await st.deleteExpiredRevocations(nowSec);
    report.deleted.useOnce = await st.deleteExpiredUseOnce(nowSec);
    report.deleted.secrets = await st.deleteExpiredSecrets(now);
    report.deleted.changes = await st.pruneChanges(now - (this.opts.changeRetentionMs ?? DAY_MS));
    report.deleted.keys = await this.pruneKeys(now);
    return report;
  }

  /** Creates the next key when the schedule says so and this node wins the claim. */
  async rotateIfDue(now: number): Promise<SigningKeyRecord | undefined> {
    const period = this.opts.rotationPeriodSeconds;
    if (period <= 0) return undefined;
    // Decide on the store's view, not this node's possibly 250 ms old cache.
    await this.s.keyring.load();
    const keys = this.s.keyring.list(now);
    if (keys.length === 0) return undefined;
    const newest = keys.reduce((a, b) => (b.activate_at > a.activate_at ? b : a));
    const dueAt = newest.activate_at + 1000 * (period - this.opts.prePublishSeconds);
    if (now < dueAt) return undefined;
    // Atomic across nodes: exactly one node rotates after a given key.
    if (!(await this.s.store.useOnce(`key-rotation:${newest.kid}`, Math.floor(now / 1000) + 300))) return undefined;
    const rec = await this.s.keyring.rotate({ prePublishSeconds: this.opts.prePublishSeconds });
    await this.s.store.addAudit({
      at: Date.now(),
      actor: this.actor,
      action: 'key.rotate',
      target: rec.kid,
      before: { kid: newest.kid, activate_at: newest.activate_at },
      after: { kid: rec.kid, alg: rec.alg, publish_at: rec.publish_at, activate_at: rec.activate_at, reason: 'schedule', period_seconds: period },
    });
    this.s.log.info({ kid: rec.kid, activate_at: new Date(rec.activate_at).toISOString() }, 'scheduled signing-key rotation');
    return rec;
  }

  /** Deletes keys out of the JWKS for good (every token they signed has expired); audits each. */
  private async pruneKeys(now: number): Promise<string[]> {
    await this.s.keyring.load();
    const before = this.s.keyring.list(now);
    const n = await this.s.keyring.prune(now);
    if (n === 0) return [];
    const left = new Set(this.s.keyring.list(now).map((k) => k.kid));
    const gone = before.filter((k) => !left.has(k.kid));
    for (const k of gone) {
      await this.s.store.addAudit({
        at: Date.now(),
        actor: this.actor,
        action: 'key.prune',
        target: k.kid,
        before: { kid: k.kid, alg: k.alg, retired_at: k.retired_at, expires_at: k.expires_at },
        after: null,
      });
    }
    return gone.map((k) => k.kid);
  }
}
