import { z } from 'zod';
import { IssuerKeyError, parseIssuerJwks } from '../client-auth/federated/trusted-issuer-keys.js';
import type { OutboundPolicy } from '../outbound/index.js';
import { TRUSTED_ISSUER_NAME } from './federated-identity.js';
import { OAuthError } from '../shared/errors.js';
import { DuplicateError, type Store } from '../store/store.js';
import type { TrustedIssuerKind, TrustedIssuerRecord } from '../store/types.js';

/** GitHub Actions' OIDC issuer (https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect). */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
/** SPIFFE-ID §2.1: a trust domain name is lower-case letters, digits, dots, dashes and underscores. */
export const SPIFFE_TRUST_DOMAIN = /^spiffe:\/\/[a-z0-9._-]{1,255}$/;
export const DEFAULT_MAX_ASSERTION_LIFETIME = 3600;

export const trustedIssuerInputSchema = z
  .object({
    name: z.string().regex(TRUSTED_ISSUER_NAME, 'must match [A-Za-z0-9._-]{1,64}'),
    issuer: z.string().min(1).max(2048).optional(),
    kind: z.enum(['oidc', 'kubernetes', 'spiffe', 'github']).optional(),
    jwks_uri: z.string().min(1).max(2048).nullable().optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(100) }).passthrough().nullable().optional(),
    max_assertion_lifetime: z.number().int().min(1).max(86_400).optional(),
    single_use: z.boolean().optional(),
  })
  .strict();

export type TrustedIssuerInput = z.input<typeof trustedIssuerInputSchema>;

/**
 * An update: new keys (`jwks` or `jwks_uri`; giving either replaces both, both null = OIDC discovery) and rules.
 * `issuer` and `kind` may be repeated but not changed: a different issuer is a different trust (add it).
 */
export const trustedIssuerUpdateSchema = trustedIssuerInputSchema.omit({ name: true }).strict();

const invalid = (field: string, message: string) => new OAuthError('invalid_request', `${field}: ${message}`, { field });

/** The public representation (admin API, CLI --json, console). Holds nothing secret: keys are public. */
export function publicTrustedIssuer(r: TrustedIssuerRecord): Record<string, unknown> {
  return {
    name: r.name,
    issuer: r.issuer,
    kind: r.kind,
    keys_from: r.jwks ? 'file' : r.jwks_uri ? 'jwks_uri' : 'discovery',
    jwks_uri: r.jwks_uri,
    ...(r.jwks ? { jwks: r.jwks } : {}),
    max_assertion_lifetime: r.max_assertion_lifetime,
    single_use: r.single_use,
    created_at: Math.floor(r.created_at / 1000),
  };
}

export interface TrustedIssuerServiceDeps {
  readonly store: Pick<Store, 'insertTrustedIssuer' | 'getTrustedIssuer' | 'listTrustedIssuers' | 'updateTrustedIssuer' | 'deleteTrustedIssuer' | 'countFederatedClients' | 'addAudit'>;
  /** The outbound policy: an issuer whose keys are fetched must have URLs it allows (SPEC §8). */
  readonly outbound: Pick<OutboundPolicy, 'urlProblem'>;
}

/**
 * The one set of rules for trusted issuers (SPEC §9), shared by the CLI (`latchkey trust`), the admin
 * API (`/admin/v1/trusted-issuers`) and the console. Every change is audited and reaches every node
 * through the change feed (kind `trusted_issuer`).
 */
export class TrustedIssuerService {
  constructor(private readonly d: TrustedIssuerServiceDeps) {}

  /** Validates input into a record (no I/O). Throws 400 invalid_request naming the field. */
  toRecord(input: unknown, now = Date.now()): TrustedIssuerRecord {
    const r = trustedIssuerInputSchema.safeParse(input);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw invalid(i.path.join('.') || '(body)', i.message);
    }
    const m = r.data;
    const kind: TrustedIssuerKind = m.kind ?? 'oidc';
    const issuer = m.issuer ?? (kind === 'github' ? GITHUB_ACTIONS_ISSUER : undefined);
    if (issuer === undefined) throw invalid('issuer', kind === 'spiffe' ? 'required: the trust domain, spiffe://example.org' : 'required');
    const jwksUri = m.jwks_uri ?? null;
    const jwks = (m.jwks as TrustedIssuerRecord['jwks']) ?? null;
    if (jwks && jwksUri) throw invalid('jwks', 'give jwks or jwks_uri, not both');
    if (kind === 'spiffe') {
      // draft-ietf-oauth-spiffe-client-auth §4: bundles are keyed by trust domain and configured out of
      // band; a JWT-SVID's trust domain is the one in its SPIFFE ID sub.
      if (!SPIFFE_TRUST_DOMAIN.test(issuer)) throw invalid('issuer', 'a SPIFFE trust domain is spiffe://<trust domain> (lower case, no path)');
      if (!jwks && !jwksUri) throw invalid('jwks', 'a SPIFFE trust domain needs a bundle (file) or a bundle endpoint URL (jwks_uri)');
    } else {
      let u: URL;
      try {
        u = new URL(issuer);
      } catch {
        throw invalid('issuer', 'must be an absolute URL (the exact iss of its tokens)');
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid('issuer', 'must be an https:// URL');
      if (u.hash || u.search) throw invalid('issuer', 'must not contain a query or fragment');
      if (!jwks && !jwksUri) {
        // Keys from OpenID Connect Discovery: the issuer URL is fetched, so the outbound policy applies.
        const why = this.d.outbound.urlProblem(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
        if (why !== undefined) throw invalid('issuer', `its discovery document cannot be fetched: ${why} (or give jwks_uri / a key file)`);
      }
    }
    if (jwksUri) {
      const why = this.d.outbound.urlProblem(jwksUri);
      if (why !== undefined) throw invalid('jwks_uri', why);
    }
    if (jwks) {
      let usable = 0;
      let skipped: readonly string[] = [];
      try {
        const set = parseIssuerJwks(jwks, kind);
        usable = set.keys.length;
        skipped = set.skipped;
      } catch (e) {
        throw invalid('jwks', e instanceof IssuerKeyError ? e.message : 'not a JWK Set');
      }
      if (usable === 0) throw invalid('jwks', `no usable signature key${skipped.length ? ` (${skipped.slice(0, 3).join('; ')})` : ''}`);
    }
    return {
      name: m.name,
      issuer,
      kind,
      jwks_uri: jwksUri,
      jwks,
      max_assertion_lifetime: m.max_assertion_lifetime ?? DEFAULT_MAX_ASSERTION_LIFETIME,
      single_use: m.single_use ?? false,
      created_at: now,
      updated_at: now,
    };
  }

  async add(input: unknown, actor: string): Promise<Record<string, unknown>> {
    const rec = this.toRecord(input);
    try {
      await this.d.store.insertTrustedIssuer(rec);
    } catch (e) {
      if (e instanceof DuplicateError) {
        const byName = await this.d.store.getTrustedIssuer(rec.name);
        throw byName ? invalid('name', 'a trusted issuer with this name exists') : invalid('issuer', 'this issuer is already trusted under another name');
      }
      throw e;
    }
    const pub = publicTrustedIssuer(rec);
    await this.d.store.addAudit({ at: Date.now(), actor, action: 'trusted_issuer.add', target: `trusted-issuer:${rec.name}`, before: null, after: pub });
    return pub;
  }

  async list(): Promise<Record<string, unknown>[]> {
    return (await this.d.store.listTrustedIssuers()).map(publicTrustedIssuer);
  }

  async get(name: string): Promise<(Record<string, unknown> & { federated_clients: number }) | undefined> {
    const r = await this.d.store.getTrustedIssuer(name);
    return r ? { ...publicTrustedIssuer(r), federated_clients: await this.d.store.countFederatedClients(name) } : undefined;
  }

  /**
   * Replaces an issuer's keys or rules in place — e.g. a cluster's rotated service-account key in a `--jwks-file`
   * issuer — without the gap a remove + add would leave; its clients stay attached. Same validation as `add`.
   */
  async update(name: string, input: unknown, actor: string): Promise<Record<string, unknown>> {
    const r = trustedIssuerUpdateSchema.safeParse(input);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw invalid(i.path.join('.') || '(body)', i.message);
    }
    const m = r.data;
    const before = await this.d.store.getTrustedIssuer(name);
    if (!before) throw new OAuthError('not_found', 'no such trusted issuer');
    if (m.issuer !== undefined && m.issuer !== before.issuer) throw invalid('issuer', 'cannot change: a different issuer is a new trust (add it under another name)');
    if (m.kind !== undefined && m.kind !== before.kind) throw invalid('kind', 'cannot change: add the issuer again under another name');
    const newKeys = m.jwks !== undefined || m.jwks_uri !== undefined;
    const now = Date.now();
    const rec = this.toRecord(
      {
        name,
        issuer: before.issuer,
        kind: before.kind,
        jwks_uri: newKeys ? (m.jwks_uri ?? null) : before.jwks_uri,
        jwks: newKeys ? (m.jwks ?? null) : before.jwks,
        max_assertion_lifetime: m.max_assertion_lifetime ?? before.max_assertion_lifetime,
        single_use: m.single_use ?? before.single_use,
      },
      now,
    );
    const after = { ...rec, created_at: before.created_at };
    if (!(await this.d.store.updateTrustedIssuer(after))) throw new OAuthError('not_found', 'no such trusted issuer');
    const pub = publicTrustedIssuer(after);
    await this.d.store.addAudit({ at: now, actor, action: 'trusted_issuer.update', target: `trusted-issuer:${name}`, before: publicTrustedIssuer(before), after: pub });
    return pub;
  }

  /** Removes the issuer; its clients stay but cannot authenticate until it is trusted again. */
  async remove(name: string, actor: string): Promise<void> {
    const r = await this.d.store.getTrustedIssuer(name);
    if (!r || !(await this.d.store.deleteTrustedIssuer(name))) throw new OAuthError('not_found', 'no such trusted issuer');
    await this.d.store.addAudit({ at: Date.now(), actor, action: 'trusted_issuer.remove', target: `trusted-issuer:${name}`, before: publicTrustedIssuer(r), after: null });
  }
}
